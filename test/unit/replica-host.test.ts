// ReplicaHost (src/replica/host.ts), the code the runtime and the simulator share around a
// replica: the order of a round's disk and peer work, group commit, when a snapshot may run, and
// a failed disk. The replica is scripted here, so each test names the ready() it reacts to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicaHost, type DiskDone, type HostDisk } from '../../src/replica/host.js';
import type { DurableImage, Replica, ReplicaReady } from '../../src/replica/replica.js';
import type { Entry } from '../../src/consensus/messages.js';

function ready(over: Partial<ReplicaReady> = {}): ReplicaReady {
  return {
    state: null,
    snapshot: null,
    truncateAfter: null,
    entries: [],
    generation: 1,
    messages: [],
    applied: [],
    outputs: [],
    restores: [],
    restoreAsks: [],
    ...over,
  };
}

const entry = (zxid: number): Entry => ({ zxid, data: new Uint8Array([zxid]) });

/** A replica that hands out scripted rounds and records what the host reports back. */
class ScriptedReplica {
  rounds: ReplicaReady[] = [];
  awaitingReload = false;
  reloadAfterRound = false;
  persistedCalls: Array<[number, number]> = [];
  reloads = 0;
  compacted: number[] = [];
  core = { mode: 'learner' as string, lastApplied: 0 };
  zab = {
    commitZxid: 0,
    serving: false,
    compact: (z: number): void => {
      this.compacted.push(z);
    },
  };
  ready(): ReplicaReady {
    const rd = this.rounds.shift() ?? ready();
    if (this.reloadAfterRound) this.awaitingReload = true;
    return rd;
  }
  persisted(generation: number, zxid: number): void {
    this.persistedCalls.push([generation, zxid]);
  }
  reloaded(_img: DurableImage): void {
    this.awaitingReload = false;
    this.reloads++;
  }
}

/** A disk that records each call in order and completes only when the test says so. */
class ManualDisk implements HostDisk {
  readonly calls: string[] = [];
  private readonly waiting: Array<() => void> = [];
  writeEpoch(): void {
    this.calls.push('epoch');
  }
  append(entries: readonly Entry[], done: DiskDone): void {
    this.start(`append ${entries.map((e) => e.zxid).join(',')}`, () => done(null));
  }
  install(image: { zxid: number }, keep: number, done: DiskDone): void {
    this.start(`install ${image.zxid} keep ${keep}`, () => done(null));
  }
  truncate(zxid: number, done: DiskDone): void {
    this.start(`truncate ${zxid}`, () => done(null));
  }
  reload(done: (err: Error | null, img: DurableImage | null) => void): void {
    this.start('reload', () => done(null, {} as DurableImage));
  }
  private start(what: string, ok: () => void): void {
    this.calls.push(what);
    this.waiting.push(ok);
  }
  get running(): number {
    return this.waiting.length;
  }
  complete(): void {
    const next = this.waiting.shift();
    assert.ok(next, 'no disk operation is running');
    next();
  }
}

function setup(o: { keepCommittedLog?: boolean } = {}) {
  const replica = new ScriptedReplica();
  const disk = new ManualDisk();
  const events: string[] = [];
  const fatal: Error[] = [];
  const host = new ReplicaHost(replica as unknown as Replica, {
    disk,
    clock: () => 1000,
    schedule: () => undefined,
    coreChanged: () => events.push('core'),
    servingStarted: () => events.push('serving'),
    links: {
      send: (m) => {
        disk.calls.push(`send ${m.to}`);
      },
      flush: () => {
        disk.calls.push('flush');
      },
    },
    fatal: (e) => fatal.push(e),
    keepCommittedLog: o.keepCommittedLog ?? false,
  });
  return { replica, disk, host, events, fatal };
}

const msg = (to: number) => ({ from: 1, to, msg: { type: 'ping', epoch: 1, round: 1, commitZxid: 0 } as const });

test("the epoch state is written before the round's disk operations and messages; client replies flush the links first", () => {
  const { replica, disk, host } = setup();
  replica.rounds.push(
    ready({
      state: { acceptedEpoch: 2, currentEpoch: 1, votedFor: 3 },
      entries: [entry(1)],
      messages: [msg(2)],
      outputs: [{ kind: 'close', conn: 1, reason: 'x' }],
    }),
  );
  host.round(0);
  assert.deepEqual(disk.calls, ['epoch', 'append 1', 'send 2', 'flush']);
});

test('a SNAP install, then a TRUNC, then the reload, then new entries: one at a time, in that order', () => {
  const { replica, disk, host, events } = setup();
  replica.reloadAfterRound = true;
  replica.rounds.push(ready({ snapshot: { zxid: 50, data: new Uint8Array() }, truncateAfter: 60, entries: [entry(61)], generation: 2 }));
  host.round(0);
  replica.reloadAfterRound = false;
  assert.deepEqual(disk.calls, ['install 50 keep -1']);
  assert.equal(host.round(0), null, 'no round runs while a reload is owed');
  disk.complete();
  assert.deepEqual(replica.persistedCalls, [[2, 50]]);
  assert.deepEqual(events, ['core']);
  disk.complete();
  assert.deepEqual(replica.persistedCalls, [
    [2, 50],
    [2, 60],
  ]);
  disk.complete();
  assert.equal(replica.reloads, 1);
  disk.complete();
  assert.deepEqual(disk.calls, ['install 50 keep -1', 'truncate 60', 'reload', 'append 61']);
  assert.deepEqual(replica.persistedCalls.at(-1), [2, 61]);
});

test('entries queued while the disk is busy are written together, never across generations (group commit)', () => {
  const { replica, disk, host } = setup();
  replica.rounds.push(
    ready({ entries: [entry(1)] }),
    ready({ entries: [entry(2)] }),
    ready({ entries: [entry(3), entry(4)] }),
    ready({ entries: [entry(5)], generation: 2 }),
  );
  for (let i = 0; i < 4; i++) host.round(0);
  assert.equal(disk.running, 1);
  disk.complete();
  disk.complete();
  disk.complete();
  assert.deepEqual(disk.calls, ['append 1', 'append 2,3,4', 'append 5']);
  assert.deepEqual(replica.persistedCalls, [
    [1, 1],
    [1, 4],
    [2, 5],
  ]);
});

test('a SNAP keeps the log up to the commit point known before it arrived, when an archive may need it', () => {
  const { replica, disk, host } = setup({ keepCommittedLog: true });
  replica.zab.commitZxid = 7;
  replica.rounds.push(ready());
  host.round(0);
  replica.zab.commitZxid = 90; // the SNAP's round moves the commit point to its image
  replica.rounds.push(ready({ snapshot: { zxid: 90, data: new Uint8Array() } }));
  host.round(0);
  assert.deepEqual(disk.calls, ['install 90 keep 7']);
});

test('no snapshot starts while a SNAP install, TRUNC or reload waits, nor while the core is down', () => {
  const { replica, disk, host } = setup();
  assert.equal(host.canSnapshot(), true);
  replica.rounds.push(ready({ entries: [entry(1)] }), ready({ truncateAfter: 0 }));
  host.round(0);
  assert.equal(host.canSnapshot(), true, 'appends do not stop a snapshot');
  host.round(0);
  assert.equal(host.canSnapshot(), false, 'a TRUNC waits behind the append');
  disk.complete();
  assert.equal(host.canSnapshot(), false, 'nor while the TRUNC runs');
  disk.complete();
  assert.equal(host.canSnapshot(), true);
  replica.core.lastApplied = 5; // applied at start-up, not yet known committed (ZOOKEEPER-1549)
  assert.equal(host.canSnapshot(), false, 'not while the tree holds txns not known committed');
  replica.zab.commitZxid = 5;
  assert.equal(host.canSnapshot(), true);
  replica.core.mode = 'down';
  assert.equal(host.canSnapshot(), false);
  host.snapshotWritten(9);
  assert.deepEqual(replica.compacted, [9]);
});

test('a failed write stops the host: nothing more is written or reported persisted', () => {
  const { replica, fatal } = setup();
  const failing: HostDisk = {
    writeEpoch: () => undefined,
    truncate: () => undefined,
    install: () => undefined,
    reload: () => undefined,
    append: (_e, done) => done(new Error('ENOSPC')),
  };
  const h = new ReplicaHost(replica as unknown as Replica, {
    disk: failing,
    links: { send: () => undefined, flush: () => undefined },
    clock: () => 0,
    schedule: () => undefined,
    coreChanged: () => undefined,
    servingStarted: () => undefined,
    fatal: (e) => fatal.push(e),
    keepCommittedLog: false,
  });
  replica.rounds.push(ready({ entries: [entry(1)] }), ready({ entries: [entry(2)] }));
  h.round(0);
  assert.equal(fatal.length, 1);
  assert.deepEqual(replica.persistedCalls, []);
  assert.equal(h.round(0), null);
  assert.equal(h.canSnapshot(), false);
});

test('after stop, an operation in flight completes without reporting back', () => {
  const { replica, disk, host } = setup();
  replica.rounds.push(ready({ entries: [entry(1)] }), ready({ entries: [entry(2)] }));
  host.round(0);
  host.round(0);
  host.stop();
  assert.equal(host.diskBusy, true);
  disk.complete();
  assert.equal(host.diskBusy, false);
  assert.deepEqual(replica.persistedCalls, []);
  assert.deepEqual(disk.calls, ['append 1'], 'nothing queued starts after stop');
});

test('servingStarted is told once each time the member begins serving', () => {
  const { replica, host, events } = setup();
  host.round(0);
  replica.zab.serving = true;
  host.round(0);
  host.round(0);
  replica.zab.serving = false;
  host.round(0);
  replica.zab.serving = true;
  host.round(0);
  assert.deepEqual(events, ['serving', 'serving']);
});

test('a broken invariant taking a disk result stops the member through fatal, not out of the disk callback', () => {
  const { replica, disk, host, fatal } = setup();
  replica.persisted = () => {
    throw new Error('persisted past the log');
  };
  replica.rounds.push(ready({ entries: [entry(1)] }), ready({ entries: [entry(2)] }));
  host.round(0);
  host.round(0);
  assert.doesNotThrow(() => disk.complete());
  assert.deepEqual(
    fatal.map((e) => e.message),
    ['persisted past the log'],
  );
  assert.equal(host.round(0), null);
  assert.deepEqual(disk.calls, ['append 1'], 'nothing more is written');
});
