// Read-only mode (readonlymode.enabled) in a real three-process ensemble: two members are killed,
// the survivor serves a client that can be read-only (reads answered, writes refused with
// NotReadOnly, isro says ro, clients that did not ask for read-only refused), then a member
// returns, the survivor leaves read-only mode and the client moves to read-write on its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, NotReadOnlyError, type ZooKeeperClient } from '../../src/index.js';
import { ZkClient } from '../../src/client/client.js';
import { startEnsemble, type Ensemble } from '../helpers/ensemble.js';
import { fourLetterWord } from '../helpers/zookeeper.js';
import { waitUntil } from '../helpers/wait.js';

async function isro(port: number): Promise<string> {
  try {
    return await fourLetterWord('127.0.0.1', port, 'isro', 2000);
  } catch {
    return 'unreachable';
  }
}

function next(c: ZooKeeperClient, event: 'readOnly' | 'connected', timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms (state ${c.state})`)), timeoutMs);
    c.once(event, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe('read-only mode in a three-member ensemble', { timeout: 120000 }, () => {
  let ens: Ensemble;
  before(async () => {
    ens = await startEnsemble({ cfg: { 'readonlymode.enabled': true } });
    await ens.leader();
    await ens.serving();
  });
  after(async () => {
    await ens?.stop();
  });

  test('the survivor of a lost quorum serves reads to read-only clients and sends them back to read-write when a member returns', async () => {
    const [a, b, c] = ens.members as [(typeof ens.members)[0], (typeof ens.members)[0], (typeof ens.members)[0]];
    const w = await ZkClient.connect({ port: c.port, sessionTimeoutMs: 10000 });
    await w.create('/ro', 'before');
    await w.sync('/ro');
    await w.close();
    for (const m of ens.members) assert.equal(await isro(m.port), 'rw');

    await Promise.all([ens.kill(a), ens.kill(b)]);
    // looking, then read-only once it has looked for max(2 s, tickTime)
    await waitUntil(async () => (await isro(c.port)) === 'ro', 'the survivor answers isro with ro', 15000);
    assert.match(await fourLetterWord('127.0.0.1', c.port, 'srvr'), /^Mode: read-only$/m);
    // a client that did not ask for read-only is refused, as ZooKeeper refuses it
    await assert.rejects(ZkClient.connect({ port: c.port, sessionTimeoutMs: 10000 }));

    const client = createClient(ens.connectString, { allowReadOnly: true, sessionTimeoutMs: 10000 });
    try {
      await next(client, 'readOnly', 20000);
      assert.equal(client.state, 'readOnly');
      assert.equal((await client.getData('/ro')).data?.toString(), 'before');
      assert.ok((await client.getChildren('/')).includes('ro'));
      await assert.rejects(client.create('/nope', 'x'), NotReadOnlyError);
      await assert.rejects(client.setData('/ro', 'after'), NotReadOnlyError);
      assert.equal((await client.getData('/ro')).data?.toString(), 'before', 'nothing was written');

      // a member returns: a quorum again; the survivor ends read-only mode and its clients move
      const back = next(client, 'connected', 40000);
      await ens.start(a);
      await back;
      assert.equal(client.state, 'connected');
      await client.create('/after', 'rw');
      assert.equal((await client.getData('/after')).data?.toString(), 'rw');
      await waitUntil(async () => (await isro(c.port)) === 'rw', 'the survivor answers isro with rw again', 15000);
    } finally {
      await client.close();
    }
  });
});
