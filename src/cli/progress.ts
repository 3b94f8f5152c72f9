// The one progress reporter of every long `ark` command (backup create/verify, restore, copy,
// migrate, purge): the core functions report { done, total, unit } through an onProgress
// callback (src/util/progress.ts); this decides how a person sees it.
//
// - stderr is a terminal: a bar with the rate and the ETA (cli-progress), redrawn in place; when
//   the total is not known, a turning counter with the rate.
// - not a terminal (a pipe, a log file, CI): plain lines on stderr, every 5 s or every 10%, and
//   one line when a stage ends, e.g.
//     restore: replaying archived txns: 350000/1000000 txns (35%), 41000 txns/s, ETA 16 s
// - --json: nothing; stdout carries the final JSON document alone.
// A stage that ends within the start delay (1 s) shows nothing at all, as git's delayed progress:
// a quick command prints what it printed before. ARK_PROGRESS_DELAY_MS changes the delay (0: show
// every stage; the tests use it).
// stdout is never written here: results and JSON documents stay machine-readable.
import cliProgress from 'cli-progress';
import {
  ProgressThrottle,
  throttleWithDelay,
  describeFinished,
  describeProgress,
  fractionDone,
  type OnProgress,
  type Progress,
  type ThrottleOptions,
} from '../util/progress.js';

export type ProgressMode = 'bar' | 'lines' | 'silent';

/** Where progress goes: stderr, or in tests anything with write (and isTTY / columns for a terminal). */
export interface ProgressStream {
  write(s: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface ReporterOptions {
  /** --json: report nothing */
  json?: boolean;
  /** default: silent with --json, a bar when the stream is a terminal, else lines */
  mode?: ProgressMode;
  stream?: ProgressStream;
  /** milliseconds, monotonic (default performance.now) */
  now?: () => number;
  throttle?: Partial<ThrottleOptions>;
}

export function progressMode(json: boolean, stream: ProgressStream): ProgressMode {
  if (json) return 'silent';
  return stream.isTTY === true ? 'bar' : 'lines';
}

interface Stage {
  label: string;
  startedAt: number;
  last: Progress | null;
  throttle: ProgressThrottle;
  /** a periodic line was written (lines mode) */
  shown: boolean;
  bar: cliProgress.SingleBar | null;
  turns: number;
}

const SPINNER = ['|', '/', '-', '\\'];

export class ProgressReporter {
  readonly mode: ProgressMode;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly throttle: ThrottleOptions;
  private current: Stage | null = null;

  constructor(
    readonly command: string,
    o: ReporterOptions = {},
  ) {
    this.stream = o.stream ?? process.stderr;
    this.mode = o.mode ?? progressMode(o.json === true, this.stream);
    this.now = o.now ?? (() => performance.now());
    this.throttle = { ...throttleWithDelay(process.env.ARK_PROGRESS_DELAY_MS), ...o.throttle };
  }

  /**
   * A stage ("loading backup", "replaying archived txns") and its callback for a core function.
   * The stage begins with its first report (core functions report 0 done as they start), which
   * ends the stage before it (that one finished: its final line is written). So a function with
   * two phases takes two callbacks made up front.
   */
  stage(label: string): OnProgress {
    let s: Stage | null = null;
    return (p) => {
      if (s === null) {
        this.endStage(true);
        const startedAt = this.now();
        s = { label, startedAt, last: null, throttle: new ProgressThrottle(startedAt, this.throttle), shown: false, bar: null, turns: 0 };
        this.current = s;
      }
      this.update(s, p);
    };
  }

  /** The command succeeded: the current stage ends with its final line. */
  done(): void {
    this.endStage(true);
  }

  /** The command failed (or is over either way): the bar is taken down, no final line. Idempotent. */
  close(): void {
    this.endStage(false);
  }

  private update(s: Stage, p: Progress): void {
    if (s !== this.current || this.mode === 'silent') return; // a late report of a stage that ended
    s.last = p;
    const now = this.now();
    if (this.mode === 'lines') {
      if (s.throttle.due(p, now)) {
        s.shown = true;
        this.stream.write(`${this.command}: ${s.label}: ${describeProgress(p, now - s.startedAt)}\n`);
      }
      return;
    }
    if (!s.bar && now - s.startedAt < this.throttle.delayMs) return;
    this.draw(s, p, describeProgress(p, now - s.startedAt));
  }

  private draw(s: Stage, p: Progress, text: string): void {
    s.turns++;
    const payload = { label: `${this.command}: ${s.label}`, text, fraction: fractionDone(p), turn: SPINNER[s.turns % SPINNER.length] };
    if (!s.bar) {
      s.bar = new cliProgress.SingleBar({
        stream: this.stream as NodeJS.WritableStream,
        format: barLine,
        // the terminal's modes stay as they are (a Ctrl-C leaves no hidden cursor, no wrapping
        // turned off): the line is cut at the terminal's width instead
        hideCursor: false,
        linewrap: true,
        barsize: 30,
        // redrawn on each update (throttled by the library to 10 per second), also from synchronous loops
        synchronousUpdate: true,
        fps: 10,
      });
      s.bar.start(p.total ?? 0, p.done, payload);
      return;
    }
    if (p.total !== null && p.total !== s.bar.getTotal()) s.bar.setTotal(p.total);
    s.bar.update(p.done, payload);
  }

  private endStage(ok: boolean): void {
    const s = this.current;
    if (!s) return;
    this.current = null;
    const now = this.now();
    const elapsed = now - s.startedAt;
    const worthShowing = s.last !== null && (s.shown || s.bar !== null || elapsed >= this.throttle.delayMs);
    if (this.mode === 'bar') {
      if (ok && worthShowing && s.last) this.draw(s, s.last, describeFinished(s.last, elapsed));
      s.bar?.stop();
      return;
    }
    if (this.mode === 'lines' && ok && worthShowing && s.last)
      this.stream.write(`${this.command}: ${s.label}: ${describeFinished(s.last, elapsed)}\n`);
  }
}

/** One bar line: "restore: loading backup [=====-----] 350000/1000000 znodes (35%), 41000 znodes/s, ETA 16 s". */
function barLine(options: cliProgress.Options, params: cliProgress.Params, payload: Record<string, unknown>): string {
  const fraction = payload.fraction as number | null;
  const head = `${String(payload.label)} `;
  const text = String(payload.text);
  if (fraction === null) return `${head}${String(payload.turn)} ${text}`;
  // the bar gives way first on a narrow terminal (10 to 30 columns), so the counts and the ETA stay
  const barsize = Math.max(10, Math.min(30, params.maxWidth - head.length - text.length - 3));
  return `${head}[${cliProgress.Format.BarFormat(fraction, { ...options, barsize })}] ${text}`;
}

/**
 * Runs a command's work with a reporter: its last stage gets its final line when the work
 * succeeds; on failure the bar is taken down and the error is the last thing printed.
 */
export async function withProgress<T>(command: string, json: boolean | undefined, f: (p: ProgressReporter) => Promise<T>): Promise<T> {
  const r = new ProgressReporter(command, { json: json === true });
  try {
    const v = await f(r);
    r.done();
    return v;
  } finally {
    r.close();
  }
}
