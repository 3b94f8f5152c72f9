// One error class per ZooKeeper error code (KeeperException.Code and its subclasses), all
// extending KeeperError, so callers can write `e instanceof NoNodeError` or test `e.code`.
// errorFor(code, path) picks the class; unknown codes stay plain KeeperErrors.
import { ErrorCode, KeeperError } from '../util/errors.js';
import type { OpResult } from './ops.js';

declare module '../util/errors.js' {
  interface KeeperError {
    /**
     * Set on the error a failed multi / transaction rejects with: the outcome of every op, in
     * order (ZooKeeper's KeeperException.getResults()). The failing op is the first `error`
     * result with a non-zero code; ops after it show RuntimeInconsistency.
     */
    results?: OpResult[];
  }
}

type ErrorOptions = { cause?: unknown };

export class SystemError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.SystemError, path, options);
    this.name = 'SystemError';
  }
}
export class RuntimeInconsistencyError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.RuntimeInconsistency, path, options);
    this.name = 'RuntimeInconsistencyError';
  }
}
export class DataInconsistencyError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.DataInconsistency, path, options);
    this.name = 'DataInconsistencyError';
  }
}
/**
 * The connection to the server was lost while the request was outstanding, or the request could
 * not be sent in time: it may or may not have been applied. Retryable (see retry.ts).
 */
export class ConnectionLossError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.ConnectionLoss, path, options);
    this.name = 'ConnectionLossError';
  }
}
export class MarshallingError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.MarshallingError, path, options);
    this.name = 'MarshallingError';
  }
}
export class UnimplementedError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.Unimplemented, path, options);
    this.name = 'UnimplementedError';
  }
}
export class OperationTimeoutError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.OperationTimeout, path, options);
    this.name = 'OperationTimeoutError';
  }
}
/** Bad input detected by the client (an invalid path, a bad connect string) or by the server. */
export class BadArgumentsError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.BadArguments, path, options);
    this.name = 'BadArgumentsError';
  }
}
export class UnknownSessionError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.UnknownSession, path, options);
    this.name = 'UnknownSessionError';
  }
}
export class NewConfigNoQuorumError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.NewConfigNoQuorum, path, options);
    this.name = 'NewConfigNoQuorumError';
  }
}
export class ReconfigInProgressError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.ReconfigInProgress, path, options);
    this.name = 'ReconfigInProgressError';
  }
}
export class APIError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.APIError, path, options);
    this.name = 'APIError';
  }
}
export class NoNodeError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.NoNode, path, options);
    this.name = 'NoNodeError';
  }
}
export class NoAuthError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.NoAuth, path, options);
    this.name = 'NoAuthError';
  }
}
export class BadVersionError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.BadVersion, path, options);
    this.name = 'BadVersionError';
  }
}
export class NoChildrenForEphemeralsError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.NoChildrenForEphemerals, path, options);
    this.name = 'NoChildrenForEphemeralsError';
  }
}
export class NodeExistsError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.NodeExists, path, options);
    this.name = 'NodeExistsError';
  }
}
export class NotEmptyError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.NotEmpty, path, options);
    this.name = 'NotEmptyError';
  }
}
/** The session is gone (the server said so, or the client was cut off longer than its timeout). */
export class SessionExpiredError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.SessionExpired, path, options);
    this.name = 'SessionExpiredError';
  }
}
/**
 * The client was closed (close() was called, or its session expired and it does not renew
 * sessions). Carries SessionExpired's code, as ZooKeeper's Java client and kazoo's
 * ConnectionClosedError do.
 */
export class ConnectionClosedError extends SessionExpiredError {
  constructor(path?: string, options?: ErrorOptions) {
    super(path, options);
    this.name = 'ConnectionClosedError';
    this.message = path === undefined ? 'client is closed' : `client is closed (${path})`;
  }
}
export class InvalidCallbackError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.InvalidCallback, path, options);
    this.name = 'InvalidCallbackError';
  }
}
export class InvalidACLError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.InvalidACL, path, options);
    this.name = 'InvalidACLError';
  }
}
export class AuthFailedError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.AuthFailed, path, options);
    this.name = 'AuthFailedError';
  }
}
export class SessionMovedError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.SessionMoved, path, options);
    this.name = 'SessionMovedError';
  }
}
export class NotReadOnlyError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.NotReadOnly, path, options);
    this.name = 'NotReadOnlyError';
  }
}
export class EphemeralOnLocalSessionError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.EphemeralOnLocalSession, path, options);
    this.name = 'EphemeralOnLocalSessionError';
  }
}
export class NoWatcherError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.NoWatcher, path, options);
    this.name = 'NoWatcherError';
  }
}
/** No reply within the request's timeoutMs (ZooKeeper's client-side RequestTimeout). Retryable. */
export class RequestTimeoutError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.RequestTimeout, path, options);
    this.name = 'RequestTimeoutError';
  }
}
export class ReconfigDisabledError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.ReconfigDisabled, path, options);
    this.name = 'ReconfigDisabledError';
  }
}
export class SessionClosedRequireSaslAuthError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.SessionClosedRequireSaslAuth, path, options);
    this.name = 'SessionClosedRequireSaslAuthError';
  }
}
export class QuotaExceededError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.QuotaExceeded, path, options);
    this.name = 'QuotaExceededError';
  }
}
/** The server refused the op without executing it (request throttling); safe to retry. */
export class ThrottledOpError extends KeeperError {
  constructor(path?: string, options?: ErrorOptions) {
    super(ErrorCode.ThrottledOp, path, options);
    this.name = 'ThrottledOpError';
  }
}

type ErrorClass = new (path?: string, options?: ErrorOptions) => KeeperError;

const byCode = new Map<number, ErrorClass>([
  [ErrorCode.SystemError, SystemError],
  [ErrorCode.RuntimeInconsistency, RuntimeInconsistencyError],
  [ErrorCode.DataInconsistency, DataInconsistencyError],
  [ErrorCode.ConnectionLoss, ConnectionLossError],
  [ErrorCode.MarshallingError, MarshallingError],
  [ErrorCode.Unimplemented, UnimplementedError],
  [ErrorCode.OperationTimeout, OperationTimeoutError],
  [ErrorCode.BadArguments, BadArgumentsError],
  [ErrorCode.UnknownSession, UnknownSessionError],
  [ErrorCode.NewConfigNoQuorum, NewConfigNoQuorumError],
  [ErrorCode.ReconfigInProgress, ReconfigInProgressError],
  [ErrorCode.APIError, APIError],
  [ErrorCode.NoNode, NoNodeError],
  [ErrorCode.NoAuth, NoAuthError],
  [ErrorCode.BadVersion, BadVersionError],
  [ErrorCode.NoChildrenForEphemerals, NoChildrenForEphemeralsError],
  [ErrorCode.NodeExists, NodeExistsError],
  [ErrorCode.NotEmpty, NotEmptyError],
  [ErrorCode.SessionExpired, SessionExpiredError],
  [ErrorCode.InvalidCallback, InvalidCallbackError],
  [ErrorCode.InvalidACL, InvalidACLError],
  [ErrorCode.AuthFailed, AuthFailedError],
  [ErrorCode.SessionMoved, SessionMovedError],
  [ErrorCode.NotReadOnly, NotReadOnlyError],
  [ErrorCode.EphemeralOnLocalSession, EphemeralOnLocalSessionError],
  [ErrorCode.NoWatcher, NoWatcherError],
  [ErrorCode.RequestTimeout, RequestTimeoutError],
  [ErrorCode.ReconfigDisabled, ReconfigDisabledError],
  [ErrorCode.SessionClosedRequireSaslAuth, SessionClosedRequireSaslAuthError],
  [ErrorCode.QuotaExceeded, QuotaExceededError],
  [ErrorCode.ThrottledOp, ThrottledOpError],
]);

/** The typed error for a ZooKeeper error code (a plain KeeperError for a code we do not know). */
export function errorFor(code: number, path?: string, options?: ErrorOptions): KeeperError {
  const C = byCode.get(code);
  return C ? new C(path, options) : new KeeperError(code as ErrorCode, path, options);
}

/** A client-side argument problem, as a BadArgumentsError whose message says what is wrong. */
export function badArguments(what: string, path?: string): BadArgumentsError {
  const e = new BadArgumentsError(path, { cause: new Error(what) });
  e.message = `${e.message}: ${what}`;
  return e;
}

/**
 * Errors after which the same request may simply be sent again: the connection failed or timed
 * out (the request may or may not have been applied, so retried ops must tolerate that, as with
 * Curator's RetryLoop.shouldRetry), or the server refused it without running it. SessionExpired
 * is not here: work tied to the session (ephemerals, locks) must be redone, not retried.
 */
export function isRetryable(e: unknown): boolean {
  if (!(e instanceof KeeperError)) return false;
  switch (e.code) {
    case ErrorCode.ConnectionLoss:
    case ErrorCode.OperationTimeout:
    case ErrorCode.RequestTimeout:
    case ErrorCode.SessionMoved:
    case ErrorCode.NewConfigNoQuorum:
    case ErrorCode.ThrottledOp:
      return true;
    default:
      return false;
  }
}
