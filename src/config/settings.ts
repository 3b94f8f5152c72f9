// A zoo.cfg's entries sorted the way QuorumPeerConfig sorts them: its own keys, the server.N
// lines, and every other key as a "zookeeper."-prefixed system property. Each kind comes with a
// reader that parses a value as the Java code reading that key does and names the key, as the
// file spelt it, when the value is bad. The resolution's sections read nothing else.

import { ConfigError } from './error.js';
import { classifyKey, isQuorumKey, systemPropertyName, ZK_PREFIX } from './keys.js';
import { decodeJavaInt, decodeJavaLong, javaTrim, parseJavaInt, strictBoolean } from './javavalues.js';

/** QuorumPeerConfig's own keys, read as it reads them. */
export class QuorumKeys {
  constructor(private readonly values: ReadonlyMap<string, string>) {}

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  /** Integer.parseInt; undefined when the key is absent. */
  int(key: string): number | undefined {
    const v = this.values.get(key);
    return v === undefined ? undefined : parseJavaInt(key, v);
  }

  /** QuorumPeerConfig's strict boolean; `dflt` when the key is absent. */
  boolean(key: string, dflt: boolean): boolean {
    const v = this.values.get(key);
    return v === undefined ? dflt : strictBoolean(key, v);
  }
}

/** The system properties a zoo.cfg sets, read by their bare name (without "zookeeper."). */
export class SystemProperties {
  constructor(
    private readonly values: ReadonlyMap<string, string>,
    /** system property name -> the key as the file spelt it */
    private readonly origins: ReadonlyMap<string, string>,
  ) {}

  get(bare: string): string | undefined {
    return this.values.get(ZK_PREFIX + bare);
  }

  /** [bare name, value] of every property whose bare name starts with `bare` (authProvider.N), in the file's order. */
  withPrefix(bare: string): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [name, value] of this.values) {
      if (name.startsWith(ZK_PREFIX + bare)) out.push([name.slice(ZK_PREFIX.length), value]);
    }
    return out;
  }

  /** The key as written in the file (for messages): "snapCount" and "zookeeper.snapCount" both work. */
  key(bare: string): string {
    return this.origins.get(ZK_PREFIX + bare) ?? bare;
  }

  /** Integer.getInteger: Integer.decode's syntax; `dflt` when absent. */
  int(bare: string, dflt: number): number {
    const v = this.get(bare);
    return v === undefined ? dflt : decodeJavaInt(this.key(bare), v);
  }

  /** int(), and it must be above zero: a zero or negative period or size would stop the server working. */
  positiveInt(bare: string, dflt: number): number {
    const n = this.int(bare, dflt);
    if (n <= 0) {
      const key = this.key(bare);
      throw new ConfigError(key, `Invalid value for ${key}: '${this.get(bare) ?? ''}' must be positive`);
    }
    return n;
  }

  /**
   * A number setting read as Java reads it (Long.decode: decimal, 0x hex, leading-0 octal) and
   * checked against `min`; absent gives `dflt`. A bad value stops start-up naming the key, where
   * ZooKeeper would log a warning and go on with its default (FilePadding, FileTxnLog): a setting
   * that is accepted must be honoured.
   */
  long(bare: string, dflt: number, min: number, what: string): number {
    const raw = this.get(bare);
    if (raw === undefined) return dflt;
    const key = this.key(bare);
    const n = decodeJavaLong(key, raw);
    if (n < min) throw new ConfigError(key, `Invalid value for ${key}: '${raw}' must be ${what}`);
    return n;
  }
}

export interface SortedEntries {
  quorum: QuorumKeys;
  /** [key as written, value] of each server.N line, in the file's order */
  serverLines: Array<[string, string]>;
  system: SystemProperties;
  /** What ZooKeeper would set as Java system properties (ServerConfig.systemProperties). */
  systemProperties: Map<string, string>;
}

/**
 * Trims keys and values as QuorumPeerConfig does (later entries win) and sorts them; a key Ark
 * does not act on gets one warning here, an unknown one never throws.
 */
export function sortEntries(props: ReadonlyMap<string, string>, warnings: string[]): SortedEntries {
  const entries = new Map<string, string>();
  for (const [k, v] of props) entries.set(javaTrim(k), javaTrim(v));

  const systemProperties = new Map<string, string>();
  const origins = new Map<string, string>();
  const quorum = new Map<string, string>();
  const serverLines: Array<[string, string]> = [];

  for (const [key, value] of entries) {
    if (isQuorumKey(key)) {
      if (key.startsWith('server.')) serverLines.push([key, value]);
      else quorum.set(key, value);
    } else {
      const sysName = systemPropertyName(key);
      systemProperties.set(sysName, value);
      origins.set(sysName, key);
    }
    const warning = keyWarning(key);
    if (warning !== undefined) warnings.push(warning);
  }
  return { quorum: new QuorumKeys(quorum), serverLines, system: new SystemProperties(systemProperties, origins), systemProperties };
}

/** The warning for a key Ark does not act on (and where its value went); undefined for one it acts on. */
function keyWarning(key: string): string | undefined {
  const cls = classifyKey(key);
  if (cls === 'honoured') return undefined;
  if (isQuorumKey(key)) return `${key}: accepted but not supported by Ark yet; ignored`;
  const sysName = systemPropertyName(key);
  if (cls === 'unhonoured') return `${key}: accepted but not supported by Ark yet; ignored (system property ${sysName})`;
  return `${key}: unknown key; kept as system property ${sysName} and otherwise ignored`;
}
