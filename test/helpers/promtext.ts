// A strict parser of the Prometheus text exposition format, version 0.0.4 (the format Prometheus
// scrapes from /metrics: https://prometheus.io/docs/instrumenting/exposition_formats/), written
// independently of prom-client so that a test checks the server's output against the format, not
// against the library that produced it. Every malformed line throws a PromParseError naming the
// line; what the format leaves open is decided as Prometheus's own parser (expfmt) decides it.
//
// Checked: the text ends with a line feed; # HELP / # TYPE syntax, at most one of each per family,
// TYPE before the family's first sample, a known type; metric and label names; label values with
// only the \\ \" \n escapes; no repeated label in a sample; values as Go's ParseFloat reads them
// (NaN, +Inf, -Inf in any case); an optional integer timestamp and nothing after it; a family's
// samples in one group; no series twice; summaries' samples are name{quantile="q"}, name_sum,
// name_count (histograms': name_bucket{le="b"}, name_sum, name_count) and nothing else.

export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  /** the sample's own name (e.g. readlatency_count) */
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs: number | null;
  line: number;
}

export interface PromFamily {
  name: string;
  /** null when no TYPE line declared it (the format then calls it untyped) */
  type: PromType | null;
  help: string | null;
  samples: PromSample[];
}

export class PromParseError extends Error {
  constructor(
    readonly line: number,
    readonly text: string,
    why: string,
  ) {
    super(`line ${line}: ${why}: ${JSON.stringify(text)}`);
    this.name = 'PromParseError';
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A sample value as Prometheus reads it: Go's strconv.ParseFloat (what the format specifies: NaN,
 * Inf and Infinity in any case, Inf with a sign) without the hex floats and underscores that
 * Prometheus's own parser refuses ("pre-Go 1.13 float formats"). Null when not a value.
 */
export function parseGoFloat(s: string): number | null {
  if (/^nan$/i.test(s)) return Number.NaN;
  const inf = /^([+-]?)(?:inf|infinity)$/i.exec(s);
  if (inf) return inf[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return DECIMAL.test(s) ? Number(s) : null;
}

class Line {
  pos = 0;
  constructor(
    readonly text: string,
    readonly no: number,
  ) {}
  fail(why: string): never {
    throw new PromParseError(this.no, this.text, `${why} (at column ${this.pos + 1})`);
  }
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  /** the character at the position ('' at the end); a method, so that checks in a row are not narrowed */
  ch(): string {
    return this.text[this.pos] ?? '';
  }
  blanks(): number {
    const start = this.pos;
    while (this.ch() === ' ' || this.ch() === '\t') this.pos++;
    return this.pos - start;
  }
  /** characters up to the next blank, '{' or the end */
  token(stop = ' \t'): string {
    const start = this.pos;
    while (!this.done && !stop.includes(this.ch())) this.pos++;
    return this.text.slice(start, this.pos);
  }
}

/** Splits `foo_sum` into the summary / histogram family `foo` it may belong to. */
function suffixed(name: string): { base: string; suffix: '_sum' | '_count' | '_bucket' } | null {
  for (const suffix of ['_sum', '_count', '_bucket'] as const) {
    if (name.endsWith(suffix) && name.length > suffix.length) return { base: name.slice(0, -suffix.length), suffix };
  }
  return null;
}

function readEscaped(l: Line, quoted: boolean): string {
  let out = '';
  for (;;) {
    if (l.done) {
      if (quoted) l.fail('label value not closed by "');
      return out;
    }
    const c = l.ch();
    if (quoted && c === '"') {
      l.pos++;
      return out;
    }
    if (c === '\\') {
      l.pos++;
      const e = l.ch();
      if (e === '\\') out += '\\';
      else if (e === 'n') out += '\n';
      else if (e === '"' && quoted) out += '"';
      else l.fail(`invalid escape sequence \\${e}`);
      l.pos++;
      continue;
    }
    out += c;
    l.pos++;
  }
}

function readLabels(l: Line): Record<string, string> {
  const labels: Record<string, string> = {};
  l.pos++; // '{'
  for (;;) {
    l.blanks();
    if (l.ch() === '}') {
      l.pos++;
      return labels;
    }
    const name = l.token(' \t="},');
    if (!LABEL_NAME.test(name)) l.fail(`invalid label name ${JSON.stringify(name)}`);
    if (name === '__name__') l.fail('label name __name__ is reserved');
    if (Object.hasOwn(labels, name)) l.fail(`label ${name} given twice`);
    l.blanks();
    if (l.ch() !== '=') l.fail(`expected = after label name ${name}`);
    l.pos++;
    l.blanks();
    if (l.ch() !== '"') l.fail(`expected " to open the value of label ${name}`);
    l.pos++;
    labels[name] = readEscaped(l, true);
    l.blanks();
    if (l.ch() === ',') {
      l.pos++;
      continue;
    }
    if (l.ch() !== '}') l.fail('expected , or } after a label value');
  }
}

/** Parses an exposition; throws PromParseError at the first malformed line. Families in order of appearance. */
export function parsePromText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  if (text === '') return families;
  if (!text.endsWith('\n'))
    throw new PromParseError(
      text.split('\n').length,
      text.slice(text.lastIndexOf('\n') + 1),
      'the last line does not end with a line feed',
    );
  const lines = text.slice(0, -1).split('\n');
  /** families whose samples are over: a later sample of theirs breaks the grouping */
  const closed = new Set<string>();
  let current: string | null = null;
  const series = new Set<string>();
  const family = (name: string): PromFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: null, help: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  lines.forEach((raw, i) => {
    const l = new Line(raw, i + 1);
    if (raw.includes('\r')) l.fail('carriage return in a line (the format separates lines with \\n alone)');
    l.blanks();
    if (l.done) return; // an empty line
    if (l.ch() === '#') {
      l.pos++;
      l.blanks();
      const keyword = l.token();
      if (keyword !== 'HELP' && keyword !== 'TYPE') return; // a comment
      if (l.blanks() === 0) l.fail(`expected a metric name after ${keyword}`);
      const name = l.token();
      if (!METRIC_NAME.test(name)) l.fail(`invalid metric name ${JSON.stringify(name)}`);
      const f = family(name);
      if (keyword === 'HELP') {
        if (f.help !== null) l.fail(`second HELP line for ${name}`);
        l.blanks();
        f.help = readEscaped(l, false);
        return;
      }
      if (f.type !== null) l.fail(`second TYPE line for ${name}`);
      if (f.samples.length > 0) l.fail(`TYPE line for ${name} after its samples`);
      if (l.blanks() === 0) l.fail('expected a type after the metric name');
      const type = l.token();
      if (!TYPES.has(type)) l.fail(`unknown metric type ${JSON.stringify(type)}`);
      l.blanks();
      if (!l.done) l.fail('text after the type');
      f.type = type as PromType;
      return;
    }
    const sample = readSample(l);
    const name = belongsTo(sample.name, families);
    const f = family(name);
    checkShape(l, f, sample);
    if (current !== name) {
      if (closed.has(name)) l.fail(`samples of ${name} are not in one group (another family came between)`);
      if (current !== null) closed.add(current);
      current = name;
    }
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (series.has(key)) l.fail(`series ${key} given twice`);
    series.add(key);
    f.samples.push(sample);
  });
  return families;
}

function readSample(l: Line): PromSample {
  const name = l.token(' \t{');
  if (!METRIC_NAME.test(name)) l.fail(`invalid metric name ${JSON.stringify(name)}`);
  const labels = l.ch() === '{' ? readLabels(l) : {};
  if (l.blanks() === 0) l.fail('expected a blank before the value');
  const valueText = l.token();
  const value = parseGoFloat(valueText);
  if (value === null) l.fail(`invalid value ${JSON.stringify(valueText)}`);
  let timestampMs: number | null = null;
  l.blanks();
  if (!l.done) {
    const ts = l.token();
    if (!/^[+-]?\d+$/.test(ts) || !Number.isSafeInteger(Number(ts))) l.fail(`invalid timestamp ${JSON.stringify(ts)}`);
    timestampMs = Number(ts);
    l.blanks();
    if (!l.done) l.fail('text after the timestamp');
  }
  return { name, labels, value, timestampMs, line: l.no };
}

/** The family a sample belongs to: name_sum of a declared summary belongs to name, and so on. */
function belongsTo(name: string, families: ReadonlyMap<string, PromFamily>): string {
  const s = suffixed(name);
  if (s) {
    const base = families.get(s.base);
    if (base && (base.type === 'summary' || base.type === 'histogram')) return s.base;
  }
  return name;
}

function checkShape(l: Line, f: PromFamily, s: PromSample): void {
  const suffix = s.name === f.name ? '' : s.name.slice(f.name.length);
  if (f.type === 'summary') {
    if (suffix === '') {
      const q = s.labels.quantile;
      if (q === undefined) l.fail(`summary ${f.name} sample without a quantile label`);
      const qv = parseGoFloat(q);
      if (qv === null || !(qv >= 0 && qv <= 1)) l.fail(`quantile ${JSON.stringify(q)} is not a number in [0, 1]`);
    } else if (suffix === '_sum' || suffix === '_count') {
      if ('quantile' in s.labels) l.fail(`${s.name} has a quantile label`);
    } else {
      l.fail(`${s.name} is not a sample a summary has`);
    }
  } else if (f.type === 'histogram') {
    if (suffix === '_bucket') {
      const le = s.labels.le;
      if (le === undefined || parseGoFloat(le) === null) l.fail(`histogram bucket ${s.name} without a numeric le label`);
    } else if (suffix === '_sum' || suffix === '_count') {
      if ('le' in s.labels) l.fail(`${s.name} has an le label`);
    } else {
      l.fail(`${s.name} is not a sample a histogram has`);
    }
  } else if (suffix !== '') {
    l.fail(`${s.name} does not belong to ${f.name}`); // not reached: only summaries and histograms take suffixes
  }
}

/** The one sample of a family without labels (a gauge or counter), or undefined when absent. */
export function sampleValue(
  families: ReadonlyMap<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const s = suffixed(name);
  const f = families.get(name) ?? (s ? families.get(s.base) : undefined);
  const want = JSON.stringify(Object.entries(labels).sort());
  return f?.samples.find((x) => x.name === name && JSON.stringify(Object.entries(x.labels).sort()) === want)?.value;
}
