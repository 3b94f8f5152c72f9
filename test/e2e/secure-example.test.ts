// README "Security: a complete example", run as written: examples/secure's make-certs.sh makes the
// certificates with openssl, three `ark server zooN.cfg` start from that folder with the JAAS file
// named by SERVER_JVMFLAGS, and `ark cli -client-configuration client.properties`, curl and `ark
// backup create` use them. Only the port numbers of the zoo.cfg files are changed, to free ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeTool, runTool, type ToolResult } from '../helpers/clitools.js';
import { opensslMissing } from '../helpers/certs.js';
import { arkBin, freePort, repoRoot, requireOrSkip, tempDir } from '../helpers/servers.js';
import { waitUntil } from '../helpers/wait.js';

const EXAMPLE = join(repoRoot, 'examples', 'secure');
const skip = requireOrSkip(opensslMissing());

describe('the secure example (examples/secure) as the README runs it', { skip, timeout: 180_000 }, () => {
  let dir = '';
  const procs: ChildProcess[] = [];
  const logs: string[] = ['', '', ''];
  const port = new Map<number, number>();
  const client = (i: number): number => port.get(2280 + i)!;
  const admin = (i: number): number => port.get(8080 + i)!;

  const cli = (i: number, args: string[], env: Record<string, string> = {}): Promise<ToolResult> =>
    runTool(process.execPath, [arkBin, 'cli', '-client-configuration', 'client.properties', '-server', `127.0.0.1:${client(i)}`, ...args], {
      cwd: dir,
      env,
      timeoutMs: 30_000,
    });

  before(async () => {
    dir = tempDir('secure-example');
    cpSync(EXAMPLE, dir, { recursive: true });
    // the only change: every port of the zoo.cfg files becomes a free one
    for (const p of [2281, 2282, 2283, 2888, 2889, 2890, 3888, 3889, 3890, 8081, 8082, 8083]) port.set(p, await freePort());
    for (const f of readdirSync(dir).filter((n) => /^zoo\d\.cfg$/.test(n))) {
      const text = readFileSync(join(dir, f), 'utf8').replace(/\b(228[1-3]|28(?:8[89]|90)|38(?:8[89]|90)|808[1-3])\b/g, (m) =>
        String(port.get(Number(m))),
      );
      writeFileSync(join(dir, f), text);
    }
    const made = await runTool('bash', [join(dir, 'make-certs.sh')], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(made.code, 0, describeTool(made));
    for (const i of [1, 2, 3]) {
      const p = spawn(process.execPath, [arkBin, 'server', `zoo${i}.cfg`], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, SERVER_JVMFLAGS: '-Djava.security.auth.login.config=jaas.conf', ARK_LOG_LEVEL: 'info' },
      });
      p.stdout!.on('data', (d: Buffer) => (logs[i - 1] += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (logs[i - 1] += d.toString()));
      procs.push(p);
    }
    await waitUntil(
      () => logs.every((l) => /serving clients/.test(l)),
      `the three members to serve:\n${logs.join('\n---\n')}`,
      60_000,
      100,
    );
  });

  after(() => {
    for (const p of procs) p.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('ark cli over TLS with SASL and x509, a sasl ACL, the AdminServer over HTTPS, a backup through it', async () => {
    const who = await cli(1, ['whoami']);
    assert.equal(who.code, 0, describeTool(who));
    assert.match(who.stdout, /x509: CN=app1/);
    assert.match(who.stdout, /sasl: app1/);

    // written through one member, protected by a sasl ACL, read through another
    const created = await cli(2, ['create', '/app', 'hello']);
    assert.equal(created.code, 0, describeTool(created));
    const acl = await cli(1, ['setAcl', '/app', 'sasl:app1:cdrwa']);
    assert.equal(acl.code, 0, describeTool(acl));
    const read = await cli(3, ['get', '/app']);
    assert.equal(read.code, 0, describeTool(read));
    assert.match(read.stdout, /^hello$/m);
    // the same certificate without SASL is only x509:CN=app1, which the ACL does not name
    const noSasl = await cli(3, ['get', '/app'], { CLIENT_JVMFLAGS: '-Dzookeeper.sasl.client=false' });
    assert.notEqual(noSasl.code, 0, describeTool(noSasl));
    assert.match(noSasl.stdout + noSasl.stderr, /Insufficient permission : \/app/); // zkCli's words for NoAuth

    const stat = await runTool('curl', ['-sS', '--cacert', 'ca.pem', `https://127.0.0.1:${admin(1)}/commands/stat`], { cwd: dir });
    assert.equal(stat.code, 0, describeTool(stat));
    assert.equal((JSON.parse(stat.stdout) as { command: string }).command, 'stats');

    const backup = await runTool(
      process.execPath,
      [
        arkBin,
        'backup',
        'create',
        '--admin',
        `https://127.0.0.1:${admin(2)}`,
        '--ca-file',
        'ca.pem',
        '--auth',
        'super:super-secret',
        '--out',
        'b.arkb',
      ],
      { cwd: dir, timeoutMs: 60_000 },
    );
    assert.equal(backup.code, 0, describeTool(backup));
    const verify = await runTool(process.execPath, [arkBin, 'backup', 'verify', 'b.arkb'], { cwd: dir });
    assert.equal(verify.code, 0, describeTool(verify));
    // so far nothing went wrong on the members: no warning, no error
    for (const [k, l] of logs.entries()) assert.doesNotMatch(l, /"level":(40|50|60)/, `member ${k + 1} logged a warning or error:\n${l}`);

    // a plain client (clientPort is left out) and plain HTTP are refused, each with a log line
    const plain = await runTool(process.execPath, [arkBin, 'cli', '-server', `127.0.0.1:${client(1)}`, 'get', '/app'], {
      timeoutMs: 30_000,
    });
    assert.notEqual(plain.code, 0, describeTool(plain));
    const http = await runTool('curl', ['-sS', `http://127.0.0.1:${admin(1)}/commands/stat`], { cwd: dir });
    assert.match(http.stdout, /speaks HTTPS only/);
    await waitUntil(() => /a plain \(non-TLS\) client on the secure client port/.test(logs[0]!), 'the plain client logged', 10_000);
  });
});
