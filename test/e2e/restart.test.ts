// A restart replays a bounded log (issue 17, item 2): the snapshot count runs from the newest
// snapshot on disk rather than from the process's start, an ensemble member snapshots once it
// serves after a sync (as ZooKeeper's learner does after syncing with its leader), and
// snapSizeLimitInKb makes a snapshot due by log size as ZooKeeper's SyncRequestProcessor does.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ZkClient } from '../../src/client/client.js';
import { startEnsemble, type Ensemble, type Member } from '../helpers/ensemble.js';
import { startArk, type RunningServer } from '../helpers/servers.js';
import { waitUntil } from '../helpers/wait.js';

/** The JSON log lines a process printed with this message. */
function logLines(text: string, msg: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o.msg === msg) out.push(o);
    } catch {
      /* not a JSON line */
    }
  }
  return out;
}

async function connectAny(ens: Ensemble): Promise<ZkClient> {
  let client: ZkClient | null = null;
  await waitUntil(async () => {
    for (const m of ens.members.filter((x) => x.proc)) {
      try {
        client = await ZkClient.connect({ port: m.port, sessionTimeoutMs: 10000 });
        return true;
      } catch {
        /* still electing: try the next member */
      }
    }
    return false;
  }, 'a member that serves clients');
  return client!;
}

let ens: Ensemble | null = null;
let srv: RunningServer | null = null;
after(async () => {
  await ens?.stop();
  await srv?.stop();
});

test('an ensemble member restarted again and again replays only the txns since its last restart, not its whole log', {
  timeout: 180000,
}, async () => {
  // snapCount 100: a snapshot comes due after 51..100 txns; each round writes 40, fewer than that,
  // so only the count from the newest snapshot on disk (and the snapshot after a sync) bound the log
  ens = await startEnsemble({ cfg: { snapCount: 100, minSessionTimeout: 4000 }, env: { ARK_LOG_LEVEL: 'info' } });
  const leader = await ens.leader();
  const victim: Member = ens.members.find((m) => m !== leader && !m.observer)!;
  const replayed: number[] = [];
  for (let round = 0; round < 5; round++) {
    const c = await connectAny(ens);
    for (let i = 0; i < 40; i++) await c.create(`/r${round}-${i}`, Buffer.from('x'));
    await c.close();
    await ens.kill(victim);
    const before = victim.log.length;
    await ens.start(victim);
    await ens.serving(30000);
    const loaded = logLines(victim.log.slice(before), 'data loaded');
    assert.equal(loaded.length, 1, 'one start-up, one data loaded line');
    replayed.push(Number(loaded[0]!.txns));
    // it snapshots once it serves again (it replayed txns): wait for that file before the next kill
    await waitUntil(
      () => logLines(victim.log.slice(before), 'snapshot written').length > 0,
      'a snapshot after the restarted member serves',
    );
  }
  // each restart replays at most the round's 40 creates plus its session's open and close (and
  // what the member had not snapshotted of the previous round); without the fix the log grows by
  // 42 every round: 42, 84, 126, ...
  assert.ok(Math.max(...replayed) <= 50, `replayed per restart: ${replayed.join(', ')}`);
  await ens.stop();
  ens = null;
});

test('snapSizeLimitInKb: a snapshot comes due by log size, long before snapCount txns', { timeout: 60000 }, async () => {
  srv = await startArk({ cfg: { snapCount: 1000000, snapSizeLimitInKb: 64 }, env: { ARK_LOG_LEVEL: 'info' } });
  const c = await ZkClient.connect({ port: srv.port, sessionTimeoutMs: 10000 });
  const kb = Buffer.alloc(1024, 'a');
  // 300 KB of log: due after 32..64 KB each time, so several snapshots; none by count (1M)
  for (let i = 0; i < 300; i++) await c.create(`/big${i}`, kb);
  await c.close();
  await waitUntil(() => logLines(srv!.output(), 'snapshot written').length >= 3, 'three snapshots by log size');
  assert.doesNotMatch(srv.output(), /snapSizeLimitInKb.*not (acted on|honoured)/i);
});
