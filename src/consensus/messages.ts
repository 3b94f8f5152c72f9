// Zab peer messages. Entries and application payloads are opaque bytes: the consensus core never
// looks inside a txn (ARCHITECTURE.md: consensus imports only util).
//
// One message set serves election, discovery, synchronisation and broadcast (Zab phases 0-3):
// election and discovery are folded together as in Raft (a vote grants the candidate's new epoch,
// which the voter persists as acceptedEpoch before answering).

/** A txn in the replicated log: its zxid (epoch << 32 | counter) and its bytes. */
export interface Entry {
  zxid: number;
  data: Uint8Array;
}

/** A snapshot of the applied state at `zxid`, opaque to consensus. */
export interface SnapshotImage {
  zxid: number;
  data: Uint8Array;
}

export type Msg =
  /**
   * Pre-vote (Raft thesis 9.6): would you vote for me in `epoch`? Nobody persists anything, so a
   * server cut off from the others cannot inflate epochs and disrupt a healthy leader on return.
   */
  | { type: 'prevote_req'; epoch: number; currentEpoch: number; lastZxid: number }
  | { type: 'prevote'; epoch: number; granted: boolean }
  /** candidate -> voters: elect me leader of `epoch`; my history ends at (currentEpoch, lastZxid) */
  | { type: 'vote_req'; epoch: number; currentEpoch: number; lastZxid: number }
  /** voter -> candidate; `granted` false also tells the candidate the voter's acceptedEpoch */
  | { type: 'vote'; epoch: number; granted: boolean }
  /** leader -> everyone: I lead `epoch` (sent until each learner has reported) */
  | { type: 'leader_hello'; epoch: number }
  /**
   * learner -> leader: where my history ends (Zab FOLLOWERINFO + ACKEPOCH). `seq` counts the
   * learner's reports; the sync answering one echoes it, so a stale or duplicated sync is ignored.
   */
  | { type: 'follower_info'; epoch: number; seq: number; currentEpoch: number; lastZxid: number; observer: boolean }
  /**
   * leader -> learner: bring your history to mine. mode 'diff': keep everything up to prevZxid
   * (which you must hold) and append entries; 'trunc': drop everything after prevZxid, then append;
   * 'snap': replace your state with the snapshot, then append. `newLeaderZxid` is the leader's
   * last zxid at the time, the end of what this sync brings.
   */
  | {
      type: 'sync';
      epoch: number;
      seq: number;
      mode: 'diff' | 'trunc' | 'snap';
      prevZxid: number;
      snapshot: SnapshotImage | null;
      entries: Entry[];
      newLeaderZxid: number;
    }
  /** learner -> leader: the sync could not be applied (prevZxid missing); send a snapshot */
  | { type: 'sync_nak'; epoch: number; seq: number }
  /** learner -> leader: sync persisted and currentEpoch = epoch written (Zab ACK-NEWLEADER) */
  | { type: 'ack_newleader'; epoch: number; zxid: number }
  /** leader -> learner: the epoch is established; everything up to commitZxid is committed */
  | { type: 'uptodate'; epoch: number; commitZxid: number }
  | { type: 'propose'; epoch: number; entry: Entry }
  /** follower -> leader: I have everything up to zxid on disk */
  | { type: 'ack'; epoch: number; zxid: number }
  | { type: 'commit'; epoch: number; zxid: number }
  /** leader -> learners, every tick; `round` numbers heartbeats so pongs can confirm leadership */
  | { type: 'ping'; epoch: number; round: number; commitZxid: number }
  | { type: 'pong'; epoch: number; round: number }
  /** learner -> leader: a quorum barrier (sync); answered with the zxid to catch up to */
  | { type: 'barrier'; epoch: number; id: number }
  | { type: 'barrier_ok'; epoch: number; id: number; zxid: number }
  /** application payload (forwarded requests, session touches), only within an established epoch */
  | { type: 'app'; epoch: number; data: Uint8Array };

export type MsgType = Msg['type'];

/** A message with its sender and receiver (server ids from zoo.cfg). */
export interface Envelope {
  from: number;
  to: number;
  msg: Msg;
}

export { counterOf, epochOf, makeZxid } from '../util/zxid.js';
