// How `ark backup diff` shows a difference (diff.ts finds them): lines for people, one JSON
// document for scripts. Data is shown as text when it is printable UTF-8, else base64 (as
// `ark data dump` shows it); zxids and session ids in hex, times in ISO-8601, as zkCli's stat does.
import type { ZNode } from '../tree/datatree.js';
import { aclString, hexId, isoTime, showData, type ShownData } from '../storage/inspect.js';
import { hexZxid } from '../util/zxid.js';
import { STAT_FIELDS, statValue, type DiffEntry, type DiffSummary, type StatField } from './diff.js';

const ZXID_FIELDS: ReadonlySet<StatField> = new Set(['czxid', 'mzxid', 'pzxid']);
const TIME_FIELDS: ReadonlySet<StatField> = new Set(['ctime', 'mtime']);

/** A Stat field's value as text: zxids and the owner in hex, times in ISO-8601. */
export function showStat(n: ZNode, f: StatField): string {
  const v = statValue(n, f);
  if (typeof v === 'bigint') return hexId(v);
  if (ZXID_FIELDS.has(f)) return hexZxid(v);
  if (TIME_FIELDS.has(f)) return isoTime(v);
  return String(v);
}

function shown(n: ZNode): ShownData {
  return showData(n.data);
}

/** Data for one line: quoted text (cut at `max` characters), base64 marked as such, or null. */
function dataText(n: ZNode, max = 60): string {
  const s = shown(n);
  if (s.data === null) return 'null';
  const cut = s.data.length > max ? `${s.data.slice(0, max)}...` : s.data;
  return s.dataEncoding === 'utf8' ? JSON.stringify(cut) : `base64:${cut}`;
}

function aclText(n: ZNode): string {
  return n.acl.map(aclString).join(',') || '(none)';
}

/** The lines of one entry: "+ path", "- path", or "~ path" and an indented line per difference. */
export function entryLines(e: DiffEntry): string[] {
  if (e.kind === 'added') return [`+ ${e.path}  (${e.b.dataLength} B, czxid ${hexZxid(e.b.czxid)})`];
  if (e.kind === 'removed') return [`- ${e.path}  (${e.a.dataLength} B, czxid ${hexZxid(e.a.czxid)})`];
  const out = [`~ ${e.path}`];
  if (e.data) out.push(`    data: ${dataText(e.a)} -> ${dataText(e.b)}`);
  if (e.acl) out.push(`    acl: ${aclText(e.a)} -> ${aclText(e.b)}`);
  for (const f of e.stat) out.push(`    ${f}: ${showStat(e.a, f)} -> ${showStat(e.b, f)}`);
  return out;
}

/** A node whole, for JSON: data, ACL and every Stat field. */
export function nodeJson(n: ZNode): Record<string, unknown> {
  const stat: Record<string, number | string> = {};
  for (const f of STAT_FIELDS) {
    const v = statValue(n, f);
    stat[f] = typeof v === 'bigint' ? hexId(v) : v;
  }
  return { ...shown(n), acl: n.acl.map(aclString), stat };
}

/** One entry for JSON: an added or removed node whole; a changed one's differing parts, both sides. */
export function entryJson(e: DiffEntry): Record<string, unknown> {
  if (e.kind === 'added') return { kind: 'added', path: e.path, b: nodeJson(e.b) };
  if (e.kind === 'removed') return { kind: 'removed', path: e.path, a: nodeJson(e.a) };
  const out: Record<string, unknown> = { kind: 'changed', path: e.path };
  if (e.data) out.data = { a: shown(e.a), b: shown(e.b) };
  if (e.acl) out.acl = { a: e.a.acl.map(aclString), b: e.b.acl.map(aclString) };
  if (e.stat.length > 0) {
    const stat: Record<string, { a: number | string; b: number | string }> = {};
    for (const f of e.stat) {
      const va = statValue(e.a, f);
      const vb = statValue(e.b, f);
      stat[f] = { a: typeof va === 'bigint' ? hexId(va) : va, b: typeof vb === 'bigint' ? hexId(vb) : vb };
    }
    out.stat = stat;
  }
  return out;
}

/** The closing line for people. */
export function summaryLine(s: DiffSummary): string {
  const fields = Object.entries(s.byStatField)
    .map(([f, n]) => `${f} ${n}`)
    .join(', ');
  return (
    `${s.added} added, ${s.removed} removed, ${s.changed} changed` +
    (s.changed > 0 ? ` (data ${s.dataChanged}, ACL ${s.aclChanged}, Stat ${s.statChanged}${fields ? `: ${fields}` : ''})` : '') +
    `; ${s.same} the same (${s.nodesA} znodes in A, ${s.nodesB} in B)`
  );
}
