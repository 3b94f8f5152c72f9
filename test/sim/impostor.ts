// The fault "a process with a wrong credential tries to join" (issue 13): an impostor at a
// member's address (that member crashed, or the impostor claims its id) with a wrong quorum
// password, an unknown user, or no quorum SASL at all. At the simulated transport boundary the members run the same pure
// decisions the runtime's peer transport runs (src/net/peerauth.ts), in both directions: the
// impostor connecting to a member (what it sends would be counted: votes, acks) and a member
// connecting to it (the member would send it proposals, commits and SNAPs). The cluster fails the
// seed if a member admits it either way: then its votes would count, or it would get the data.
import { authenticateInMemory, type AuthOutcome, type QuorumSaslPolicy } from '../../src/net/peerauth.js';
import type { Rng } from './rng.js';

/** per swarm step: a few attempts in a 20 s fault phase */
export const IMPOSTOR_P = 0.002;

export type ImpostorKind = 'wrong_password' | 'unknown_user' | 'no_sasl';
const KINDS: readonly ImpostorKind[] = ['wrong_password', 'unknown_user', 'no_sasl'];

/** Every member's quorum SASL: the secure ensemble (both require flags, as the README's example). */
export const MEMBER_POLICY: QuorumSaslPolicy = {
  learnerRequireSasl: true,
  serverRequireSasl: true,
  learner: { username: 'zkpeer', password: 'ensemble-secret' },
  serverUsers: new Map([['zkpeer', 'ensemble-secret']]),
};

export interface Impostor {
  kind: ImpostorKind;
  /** the member id it claims (whose address it took) */
  claims: number;
  policy: QuorumSaslPolicy | null;
}

export function drawImpostor(rng: Rng, claims: number): Impostor {
  const kind = rng.pick(KINDS);
  const guess = `guess-${rng.int(1_000_000)}`;
  const policy: QuorumSaslPolicy | null =
    kind === 'no_sasl'
      ? null
      : kind === 'wrong_password'
        ? { ...MEMBER_POLICY, learner: { username: 'zkpeer', password: guess }, serverUsers: new Map([['zkpeer', guess]]) }
        : // a user the members' QuorumServer section does not list (with the ensemble's password, even)
          {
            ...MEMBER_POLICY,
            learner: { username: `intruder${rng.int(100)}`, password: 'ensemble-secret' },
            serverUsers: new Map([['intruder', guess]]),
          };
  return { kind, claims, policy };
}

const nonce = (rng: Rng): string => `n${rng.int(2 ** 30).toString(36)}${rng.int(2 ** 30).toString(36)}`;

/**
 * One attempt between the impostor and one member, both ways. `inbound`: does the member admit the
 * impostor's connection (its messages reach consensus)? `outbound`: does the member's connection to
 * the impostor carry data?
 */
export function attempt(imp: Impostor, rng: Rng): { inbound: AuthOutcome; outbound: AuthOutcome } {
  const inbound = authenticateInMemory(imp.policy, MEMBER_POLICY, { nonce: nonce(rng), cnonce: nonce(rng) }).acceptor;
  const outbound = authenticateInMemory(MEMBER_POLICY, imp.policy, { nonce: nonce(rng), cnonce: nonce(rng) }).connector;
  return { inbound, outbound };
}
