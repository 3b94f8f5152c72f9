// Quorum SASL: who may join an ensemble, decided by the two ends of a peer connection. Pure (no
// sockets, no clock, nonces are arguments) so that the peer transport (net/peers.ts) and the
// simulator (test/sim) run the same decisions.
//
// ZooKeeper's QuorumCnxManager authenticates every connection it opens as a "learner" (its
// QuorumLearner JAAS section: username / password) to the accepting "server" (its QuorumServer
// section: user_NAME entries), with SASL DIGEST-MD5 (SaslQuorumAuthLearner / SaslQuorumAuthServer).
// Ark's connecting member plays the learner, the accepting member the server. DIGEST-MD5's rspauth
// lets the learner check the server too: with quorum.auth.learnerRequireSasl a member sends nothing
// to a process that cannot prove it knows the password (Ark's connections carry data only from the
// connecting side, so the connector's check is what keeps data from an impostor).
//
// quorum.auth.enableSasl without the require flags tries SASL and admits a peer without it, as
// ZooKeeper does during a rolling upgrade (its "Maintaining learner connection despite SASL
// authentication failure" warning): such an admission comes with a `note` for the log.
//
// After the hello (peers.ts), the auth messages are frames whose first byte is their kind.
import { DigestMd5Server } from '../session/digestmd5.js';
import { DigestMd5Client } from '../client/sasl.js';

export const AUTH_CHALLENGE = 1;
export const AUTH_RESPONSE = 2;
export const AUTH_SUCCESS = 3;
export const AUTH_FAILURE = 4;
/** the text of every AUTH_FAILURE after a DIGEST-MD5 exchange (as SaslQuorumAuthServer's answer says no more) */
export const AUTH_FAILED_ON_THE_WIRE = 'authentication failed';
/** the acceptor does not do quorum SASL (quorum.auth.enableSasl is false there) */
export const AUTH_NONE = 5;

export interface QuorumSaslPolicy {
  learnerRequireSasl: boolean;
  serverRequireSasl: boolean;
  /** this member's credentials (the QuorumLearner section's username / password) */
  learner: { username: string; password: string };
  /** the QuorumServer section's users: name -> password */
  serverUsers: ReadonlyMap<string, string>;
}

/** null: quorum.auth.enableSasl is false */
export type QuorumAuthPolicy = QuorumSaslPolicy | null;

export type AuthOutcome =
  | { kind: 'pending' }
  /** the connection may carry data; `user` is the authenticated SASL user, `note` says why it was admitted without one */
  | { kind: 'admit'; user?: string; note?: string }
  | { kind: 'refuse'; reason: string };

export interface AuthStep {
  /** auth frames to send to the other end (payloads; peers.ts adds the length) */
  send: Buffer[];
  outcome: AuthOutcome;
}

const msg = (kind: number, body: string | Buffer = ''): Buffer => Buffer.concat([Buffer.from([kind]), Buffer.from(body)]);
const step = (outcome: AuthOutcome, ...send: Buffer[]): AuthStep => ({ send, outcome });

/**
 * The accepting side (ZooKeeper's SaslQuorumAuthServer). `hello` is what the connector's hello
 * announced: 'sasl' (it will authenticate) or 'plain' (it has no quorum SASL).
 */
export class AcceptorAuth {
  private digest: DigestMd5Server | null = null;
  private done = false;

  constructor(
    private readonly policy: QuorumAuthPolicy,
    /** a fresh, unguessable nonce for this connection */
    private readonly nonce: string,
  ) {}

  hello(kind: 'sasl' | 'plain'): AuthStep {
    const p = this.policy;
    if (kind === 'plain') return this.unauthenticated(null);
    if (p === null) {
      this.done = true;
      return step({ kind: 'admit' }, msg(AUTH_NONE));
    }
    this.digest = new DigestMd5Server((u) => p.serverUsers.get(u), this.nonce);
    const first = this.digest.step(Buffer.alloc(0));
    if (first.kind !== 'challenge') return this.fail('DIGEST-MD5 did not start');
    return step({ kind: 'pending' }, msg(AUTH_CHALLENGE, first.token));
  }

  /**
   * A connector without quorum SASL: admitted unless serverRequireSasl. `answer` is what tells a
   * connector that asked for an answer (over TLS: the acceptor checked its certificate) the outcome.
   */
  private unauthenticated(answer: { ok: Buffer; no: Buffer } | null): AuthStep {
    this.done = true;
    const p = this.policy;
    if (p === null) return step({ kind: 'admit' }, ...(answer ? [answer.ok] : []));
    if (p.serverRequireSasl) {
      return step(
        {
          kind: 'refuse',
          reason: 'the peer did not authenticate (it has no quorum.auth.enableSasl) and quorum.auth.serverRequireSasl is true here',
        },
        ...(answer ? [answer.no] : []),
      );
    }
    return step(
      {
        kind: 'admit',
        note: 'admitted without SASL: the peer has no quorum.auth.enableSasl (quorum.auth.serverRequireSasl is false here)',
      },
      ...(answer ? [answer.ok] : []),
    );
  }

  message(payload: Buffer): AuthStep {
    // a connector without SASL that asked for an answer (TLS) declines the challenge
    if (!this.done && this.digest !== null && payload.length === 1 && payload[0] === AUTH_NONE) {
      return this.unauthenticated({ ok: msg(AUTH_SUCCESS), no: msg(AUTH_FAILURE, 'quorum.auth.serverRequireSasl is true here') });
    }
    if (this.done || this.digest === null || payload.length === 0 || payload[0] !== AUTH_RESPONSE) {
      this.done = true;
      return step({ kind: 'refuse', reason: `unexpected message during quorum authentication (kind ${payload[0] ?? 'none'})` });
    }
    this.done = true;
    const r = this.digest.step(payload.subarray(1));
    if (r.kind === 'success') return step({ kind: 'admit', user: r.authorizationId }, msg(AUTH_SUCCESS, r.token));
    return this.fail(r.kind === 'failure' ? r.reason : 'DIGEST-MD5 exchange out of order');
  }

  private fail(reason: string): AuthStep {
    this.done = true;
    // the connector is not authenticated: it learns that it failed, not whether the user exists or
    // the password was wrong (which would help guess users); the reason stays in this member's log
    const out = msg(AUTH_FAILURE, AUTH_FAILED_ON_THE_WIRE);
    if (this.policy?.serverRequireSasl) return step({ kind: 'refuse', reason: `SASL authentication failed: ${reason}` }, out);
    return step(
      { kind: 'admit', note: `admitted despite failed SASL authentication (${reason}): quorum.auth.serverRequireSasl is false here` },
      out,
    );
  }
}

/** The connecting side (ZooKeeper's SaslQuorumAuthLearner). */
export class ConnectorAuth {
  /** the DIGEST-MD5 client side (Ark's client's: Java's DigestMD5Client), once challenged */
  private digest: DigestMd5Client | null = null;
  private done = false;

  constructor(
    private readonly policy: QuorumAuthPolicy,
    /** a fresh client nonce for this connection */
    private readonly cnonce: string,
    /**
     * ask for the acceptor's answer even without SASL: over TLS (1.3) the connector's handshake
     * ends before the acceptor checked its certificate, and waiting for an answer keeps it from
     * taking a connection the acceptor is about to refuse for up
     */
    private readonly askAnswer = false,
  ) {}

  /** What the hello announces: 'sasl' waits for the acceptor's answer; with 'plain' the connection carries data at once. */
  get hello(): 'sasl' | 'plain' {
    return this.policy === null && !this.askAnswer ? 'plain' : 'sasl';
  }

  message(payload: Buffer): AuthStep {
    const p = this.policy;
    if (p === null && !this.done && payload.length > 0) return this.withoutSasl(payload);
    if (this.done || p === null || payload.length === 0) {
      this.done = true;
      return step({ kind: 'refuse', reason: 'unexpected message from the peer during quorum authentication' });
    }
    const body = payload.subarray(1);
    switch (payload[0]) {
      case AUTH_NONE:
        return this.settle(p, 'the peer does not authenticate itself (it has no quorum.auth.enableSasl)');
      case AUTH_CHALLENGE: {
        if (this.digest !== null) break;
        this.digest = new DigestMd5Client({ username: p.learner.username, password: p.learner.password }, this.cnonce);
        const r = this.digest.step(body);
        if (r.kind === 'send') return step({ kind: 'pending' }, msg(AUTH_RESPONSE, r.token));
        return this.settle(p, r.kind === 'failure' ? r.reason : 'DIGEST-MD5 ended before the response');
      }
      case AUTH_SUCCESS: {
        if (this.digest === null) break;
        // rspauth: the acceptor proves it knows the password too (Java's DigestMD5Client checks it)
        if (this.digest.step(body).kind !== 'done')
          return this.settle(p, 'the peer could not prove it knows the quorum password (DIGEST-MD5 rspauth did not match)');
        this.done = true;
        return step({ kind: 'admit', user: p.learner.username });
      }
      case AUTH_FAILURE:
        return this.settle(p, `the peer refused this member's credentials: ${body.toString('utf8')}`);
    }
    this.done = true;
    return step({ kind: 'refuse', reason: `unexpected message during quorum authentication (kind ${payload[0]})` });
  }

  /** A connector without SASL that asked for an answer: it declines a challenge, and learns whether it was admitted. */
  private withoutSasl(payload: Buffer): AuthStep {
    switch (payload[0]) {
      case AUTH_CHALLENGE:
        return step({ kind: 'pending' }, msg(AUTH_NONE));
      case AUTH_NONE:
      case AUTH_SUCCESS:
        this.done = true;
        return step({ kind: 'admit' });
      case AUTH_FAILURE:
        this.done = true;
        return step({
          kind: 'refuse',
          reason: `the peer requires quorum SASL (${payload.subarray(1).toString('utf8')}); this member has no quorum.auth.enableSasl`,
        });
    }
    this.done = true;
    return step({ kind: 'refuse', reason: `unexpected message during quorum authentication (kind ${payload[0]})` });
  }

  /** The exchange ended without proof of the peer: refused under learnerRequireSasl, else admitted with a note. */
  private settle(p: QuorumSaslPolicy, reason: string): AuthStep {
    this.done = true;
    if (p.learnerRequireSasl) return step({ kind: 'refuse', reason: `${reason}; quorum.auth.learnerRequireSasl is true here` });
    return step({ kind: 'admit', note: `${reason}; connected anyway (quorum.auth.learnerRequireSasl is false here)` });
  }
}

/**
 * Runs a whole exchange between two in-memory ends: the simulator's transport boundary, and a
 * check that both ends agree. Returns what each end decided.
 */
export function authenticateInMemory(
  connector: QuorumAuthPolicy,
  acceptor: QuorumAuthPolicy,
  nonces: { nonce: string; cnonce: string },
  askAnswer = false,
): { connector: AuthOutcome; acceptor: AuthOutcome } {
  const c = new ConnectorAuth(connector, nonces.cnonce, askAnswer);
  const a = new AcceptorAuth(acceptor, nonces.nonce);
  let aStep = a.hello(c.hello);
  let cOutcome: AuthOutcome = c.hello === 'plain' ? { kind: 'admit' } : { kind: 'pending' };
  let aOutcome = aStep.outcome;
  // at most a challenge, a response and an answer go back and forth
  for (let round = 0; round < 4; round++) {
    if (aStep.send.length === 0 || cOutcome.kind !== 'pending') break;
    let cStep: AuthStep | null = null;
    for (const m of aStep.send) {
      cStep = c.message(m);
      cOutcome = cStep.outcome;
      if (cOutcome.kind !== 'pending') break;
    }
    if (cStep === null || cStep.send.length === 0 || aOutcome.kind !== 'pending') break;
    aStep = { send: [], outcome: aOutcome };
    for (const m of cStep.send) {
      aStep = a.message(m);
      aOutcome = aStep.outcome;
    }
  }
  return { connector: cOutcome, acceptor: aOutcome };
}
