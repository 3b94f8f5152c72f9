// The epoch file: Zab's acceptedEpoch and currentEpoch (ZooKeeper keeps them in two files named
// so in dataDir) plus the vote cast in acceptedEpoch. Written to a temp file, fsynced, renamed and
// the directory fsynced, before any message that depends on it leaves (ZOOKEEPER-335, 1653, 2307:
// epoch files out of step with memory or the log made servers refuse to start or lose txns).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DATA_SUBDIR, DataDirError, fsyncPath } from './filelog.js';

export interface EpochState {
  acceptedEpoch: number;
  currentEpoch: number;
  votedFor: number;
}

const FILE = 'epoch';

export function epochFile(dataDir: string): string {
  return join(dataDir, DATA_SUBDIR, FILE);
}

/** The stored state, or null when the file does not exist (a fresh server). */
export function readEpochState(dataDir: string): EpochState | null {
  const file = epochFile(dataDir);
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const m = /^acceptedEpoch=(\d+)\ncurrentEpoch=(\d+)\nvotedFor=(\d+)\ncrc=(\d+)\n$/.exec(text);
  if (!m)
    throw new DataDirError(
      `${file} is damaged (unexpected content); if this server's data is otherwise intact, remove the file and the server derives the epochs from its log`,
    );
  const body = text.slice(0, text.lastIndexOf('crc='));
  if (crc32(Buffer.from(body)) >>> 0 !== Number(m[4]))
    throw new DataDirError(`${file} fails its checksum; remove it and the server derives the epochs from its log`);
  const s = { acceptedEpoch: Number(m[1]), currentEpoch: Number(m[2]), votedFor: Number(m[3]) };
  if (s.currentEpoch > s.acceptedEpoch)
    throw new DataDirError(`${file}: currentEpoch ${s.currentEpoch} is above acceptedEpoch ${s.acceptedEpoch}`);
  return s;
}

export function writeEpochState(dataDir: string, s: EpochState): void {
  const file = epochFile(dataDir);
  const body = `acceptedEpoch=${s.acceptedEpoch}\ncurrentEpoch=${s.currentEpoch}\nvotedFor=${s.votedFor}\n`;
  const text = `${body}crc=${crc32(Buffer.from(body)) >>> 0}\n`;
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  fsyncPath(tmp);
  renameSync(tmp, file);
  fsyncPath(join(dataDir, DATA_SUBDIR));
}
