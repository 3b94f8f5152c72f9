// The one error a bad configuration raises: it carries the key, so start-up can say which line
// of zoo.cfg to fix (ZooKeeper names the key too, in its ConfigException messages).

/** A configuration problem tied to one key of the configuration. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.key = key;
  }
}
