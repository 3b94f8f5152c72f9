// ZooKeeper's error codes (KeeperException.Code) and the typed error that carries one.
// Bad client input is never an assertion failure: it is a KeeperError with ZooKeeper's code.

export const ErrorCode = {
  Ok: 0,
  SystemError: -1,
  RuntimeInconsistency: -2,
  DataInconsistency: -3,
  ConnectionLoss: -4,
  MarshallingError: -5,
  Unimplemented: -6,
  OperationTimeout: -7,
  BadArguments: -8,
  UnknownSession: -12,
  NewConfigNoQuorum: -13,
  ReconfigInProgress: -14,
  APIError: -100,
  NoNode: -101,
  NoAuth: -102,
  BadVersion: -103,
  NoChildrenForEphemerals: -108,
  NodeExists: -110,
  NotEmpty: -111,
  SessionExpired: -112,
  InvalidCallback: -113,
  InvalidACL: -114,
  AuthFailed: -115,
  SessionMoved: -118,
  NotReadOnly: -119,
  EphemeralOnLocalSession: -120,
  NoWatcher: -121,
  RequestTimeout: -122,
  ReconfigDisabled: -123,
  SessionClosedRequireSaslAuth: -124,
  QuotaExceeded: -125,
  ThrottledOp: -127,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const codeNames = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

export function errorName(code: number): string {
  return codeNames.get(code) ?? `Unknown(${code})`;
}

/** A failure that maps to one of ZooKeeper's error codes, e.g. NoNode for a missing path. */
export class KeeperError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  constructor(code: ErrorCode, path?: string, options?: { cause?: unknown }) {
    super(path === undefined ? errorName(code) : `${errorName(code)} for ${path}`, options);
    this.name = 'KeeperError';
    this.code = code;
    this.path = path;
  }
}

/** Our own invariant broken: a bug, never bad input. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

/**
 * Throws AssertionError when `condition` does not hold. On a hot path pass the message as a
 * function: it is built only when the invariant breaks, not on every call.
 */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === 'string' ? message : message());
}
