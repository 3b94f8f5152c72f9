// The package's public entry: the server runtime and the wire types a client needs.
export { ArkServer } from './runtime/server.js';
export { parseZooCfg, parseProperties, type ServerConfig } from './config/zoocfg.js';
export { ErrorCode, KeeperError } from './util/errors.js';
export * from './wire/protocol.js';
export { ZkClient, type ZkClientOptions } from './client/client.js';
