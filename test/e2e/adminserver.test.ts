// The AdminServer as an operator uses it: GET /commands/<name> over HTTP, JSON back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProc } from '../helpers/inproc.js';
import { freePort } from '../helpers/servers.js';
import { CreateFlag } from '../../src/wire/protocol.js';

test('admin_commands_answer_json_with_zookeeper_names_and_aliases', async () => {
  const adminPort = await freePort();
  const srv = await startInProc({ 'admin.enableServer': true, 'admin.serverPort': adminPort, 'admin.serverAddress': '127.0.0.1' });
  try {
    const c = await srv.client();
    await c.create('/a', 'x');
    await c.create('/e', null, { flags: CreateFlag.EPHEMERAL });
    await c.getData('/a', true);
    const get = async (name: string): Promise<Record<string, unknown>> => {
      const res = await fetch(`http://127.0.0.1:${adminPort}/commands/${name}`);
      assert.equal(res.status, 200, name);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      return (await res.json()) as Record<string, unknown>;
    };
    assert.deepEqual(await get('ruok'), { command: 'ruok', error: null });
    const mntr = await get('monitor');
    assert.equal(mntr.command, 'monitor');
    assert.equal(mntr.server_state, 'standalone');
    assert.equal(mntr.znode_count, 7);
    assert.equal(mntr.ephemerals_count, 1);
    assert.equal(mntr.watch_count, 1);
    const { uptime: _u1, ...viaAlias } = await get('mntr');
    const { uptime: _u2, ...viaName } = await get('monitor');
    assert.deepEqual(viaAlias, viaName, 'an alias answers as its command');
    assert.equal(((await get('srvr')).server_stats as Record<string, unknown>).server_state, 'standalone');
    assert.equal((await get('conf')).client_port, srv.port);
    const cons = (await get('connections')).connections as Array<Record<string, unknown>>;
    assert.equal(cons.length, 1);
    assert.equal(cons[0]!.session_id, `0x${c.sessionId.toString(16)}`);
    assert.deepEqual((await get('wchc')).session_id_to_watched_paths, { [`0x${c.sessionId.toString(16)}`]: ['/a'] });
    assert.deepEqual((await get('wchp')).path_to_session_ids, { '/a': [`0x${c.sessionId.toString(16)}`] });
    assert.deepEqual((await get('dump')).session_id_to_ephemeral_paths, { [`0x${c.sessionId.toString(16)}`]: ['/e'] });
    assert.equal((await get('is_read_only')).read_only, false);
    const list = await (await fetch(`http://127.0.0.1:${adminPort}/commands`)).json() as { commands: string[] };
    assert.ok(list.commands.includes('monitor') && list.commands.includes('watches_by_path'));
    const missing = await fetch(`http://127.0.0.1:${adminPort}/commands/nope`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /Unknown command/);
  } finally {
    await srv.stop();
  }
});

test('admin_server_off_when_disabled_and_a_busy_port_does_not_stop_the_server', async () => {
  const srv = await startInProc({ 'admin.enableServer': false });
  await srv.stop();
  const { createServer } = await import('node:net');
  const blocker = createServer();
  const port = await freePort();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
  try {
    const srv2 = await startInProc({ 'admin.enableServer': true, 'admin.serverPort': port, 'admin.serverAddress': '127.0.0.1' });
    const c = await srv2.client();
    assert.ok(await c.exists('/'));
    await srv2.stop();
  } finally {
    blocker.close();
  }
});
