// Structured logs: JSON lines (pino) for machines, a short readable line on a terminal.
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';

export type { Logger };

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function prettyStream(out: NodeJS.WriteStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        try {
          const { level, time, msg, pid: _pid, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const t = new Date(Number(time)).toISOString().slice(11, 23);
          const extra = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          out.write(`${t} ${(LEVELS[Number(level)] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${extra ? ` ${extra}` : ''}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      cb();
    },
  });
}

/** How long a log write may wait for a stdout nobody reads before logs are dropped. */
const STDOUT_STALL_MS_MAX = 5000;

/**
 * stdout as pino's synchronous destination, except that a reader that went away (EPIPE) or that
 * has not read for STDOUT_STALL_MS_MAX (a full pipe: EAGAIN) costs the logs, never the server: by
 * default the writer retries forever, so a server whose log pipe was orphaned could not even exit.
 */
function stdoutDestination(): ReturnType<typeof pino.destination> {
  let stalledSince = 0;
  const dest = pino.destination({
    fd: 1,
    sync: true,
    retryEAGAIN: () => {
      const now = Date.now();
      if (stalledSince === 0) stalledSince = now;
      return now - stalledSince < STDOUT_STALL_MS_MAX;
    },
  });
  dest.on('write', () => {
    stalledSince = 0;
  });
  dest.on('error', () => {
    // nowhere left to report it: stop logging rather than fail the server
    dest.write = () => true;
    dest.flushSync = () => {};
  });
  return dest;
}

export function createLogger(opts: { level?: string; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.ARK_LOG_LEVEL ?? 'info';
  const pretty =
    opts.pretty ?? (process.env.ARK_LOG_FORMAT === 'pretty' || (process.env.ARK_LOG_FORMAT !== 'json' && process.stdout.isTTY === true));
  return pretty ? pino({ level }, prettyStream(process.stdout)) : pino({ level }, stdoutDestination());
}
