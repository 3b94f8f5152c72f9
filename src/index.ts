// The package's public entry: the server runtime, the wire types, and the client. (ZkClient in
// src/client/client.ts, the small client the tests drive opcodes with, is not part of it.)
export { ArkServer } from './runtime/server.js';
export { parseZooCfg } from './config/zoocfg.js';
export { parseProperties } from './config/properties.js';
export type { ServerConfig } from './config/serverconfig.js';
export { ErrorCode, KeeperError } from './util/errors.js';
export * from './wire/protocol.js';
export type { OpResult as WireOpResult } from './wire/protocol.js';

// ---- the client (src/client; README.md "Client") ----
export {
  ZooKeeperClient,
  Transaction,
  connect,
  createClient,
  digestId,
  digestAcl,
  Ids,
  type ClientOptions,
  type ClientEvents,
  type ClientState,
  type RequestOptions,
  type WatchOptions,
  type VersionOptions,
  type CreateOptions,
  type NodeData,
  type SessionInfo,
  type ClientTlsOptions,
  type SaslCredentials,
} from './client/zookeeper.js';
export {
  CreateMode,
  Op,
  type CreateSpec,
  type Data,
  type OpResult,
  type TxnOp,
  type ReadOp,
  type WatchedEvent,
  type Watcher,
  type EventTypeName,
  type KeeperStateName,
} from './client/ops.js';
export { parseConnectString, type ConnectString, type HostPort } from './client/paths.js';
export {
  withRetry,
  sleep,
  ExponentialBackoff,
  RetryForever,
  NO_RETRY,
  type RetryPolicy,
  type RetryOptions,
  type ExponentialBackoffOptions,
} from './client/retry.js';
export * from './client/errors.js';

// ---- recipes (src/recipes; README.md "Recipes") ----
export * from './recipes/index.js';
