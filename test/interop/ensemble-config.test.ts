// /zookeeper/config in a 3-member ensemble, Ark's beside Apache ZooKeeper 3.8's, from the same kind
// of static zoo.cfg (server.N lines, reconfig off): the data and Stat every member answers
// ZooKeeper.getConfig with (the Java client), and what zkCli's and `ark cli`'s `config` and
// `config -c` print. Ports differ between the two runs, so they are replaced by symbols in the order
// they appear; mtime is when each member wrote the node, so only its being set is compared.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { arkBin, requireOrSkip } from '../helpers/servers.js';
import { startEnsemble, type Ensemble } from '../helpers/ensemble.js';
import { startZooKeeperEnsemble } from '../helpers/zookeeper-ensemble.js';
import { compileJava, describeJava, interopJavaDir, javaClientMissing, runJava, zookeeperMissing } from '../helpers/zookeeper.js';
import { describeTool, executableMissing, runTool } from '../helpers/clitools.js';

const zkCli = process.env.ARK_ZKCLI ?? '/usr/share/zookeeper/bin/zkCli.sh';

/** Each distinct 4-5 digit number (a port) becomes P1, P2, ... in order of first appearance in `seen`. */
function symbolizePorts(text: string, seen: Map<string, string>): string {
  return text.replace(/\b\d{4,5}\b/g, (p) => {
    if (!seen.has(p)) seen.set(p, `P${seen.size + 1}`);
    return seen.get(p)!;
  });
}

/** What zkCli printed for its one command, without its connection chatter. */
function zkCliOutput(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => !/^(Connecting to |WATCHER::|WatchedEvent state:)/.test(l))
    .join('\n')
    .trim();
}

interface Observed {
  /** per member: the data and the Stat as getConfig returned them, ports symbolized */
  members: string[];
  /** the raw data of every member, for the within-ensemble check */
  raw: string[];
  zkCli: Record<string, string>;
  arkCli: Record<string, string>;
}

async function observe(ens: Ensemble, classDir: string): Promise<Observed> {
  await ens.serving(60000);
  await ens.leader(60000);
  const out: Observed = { members: [], raw: [], zkCli: {}, arkCli: {} };
  // one numbering per ensemble, so the order of `config -c` shows which member comes first
  const seen = new Map<string, string>();
  const symbolize = (text: string): string => symbolizePorts(text, seen);
  for (const m of ens.members) {
    const r = await runJava(classDir, 'ClientProbe', [`127.0.0.1:${m.port}`, 'config'], 60000);
    assert.equal(r.code, 0, `getConfig on member ${m.id}: ${describeJava(r)}`);
    const statAt = r.stdout.lastIndexOf('stat ');
    const data = r.stdout.slice(0, statAt).replace(/\n$/, '');
    const [czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, owner, dataLength, numChildren] = r.stdout
      .slice(statAt + 5)
      .trim()
      .split(',')
      .map(Number);
    // the Stat ZKDatabase.initConfigInZKDatabase leaves: never created by a txn, set with version -1 and mzxid 0
    const stat =
      `czxid=${czxid} mzxid=${mzxid} pzxid=${pzxid} ctime=${ctime} mtime=${mtime! > 0 ? 'set' : mtime} version=${version} ` +
      `cversion=${cversion} aversion=${aversion} owner=${owner} dataLength=${dataLength === Buffer.byteLength(data) ? 'bytes of data' : dataLength} numChildren=${numChildren}`;
    out.members.push(`${symbolize(data)}\n${stat}`);
    out.raw.push(data);
  }
  const server = `127.0.0.1:${ens.members[0]!.port}`;
  for (const cmd of [['config'], ['config', '-c']]) {
    const z = await runTool(zkCli, ['-server', server, ...cmd], {
      timeoutMs: 60000,
      env: { CLIENT_JVMFLAGS: '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx128m' },
    });
    assert.equal(z.code, 0, `zkCli ${cmd.join(' ')}: ${describeTool(z)}`);
    out.zkCli[cmd.join(' ')] = symbolize(zkCliOutput(z.stdout));
    const a = await runTool(process.execPath, [arkBin, 'cli', '-server', server, ...cmd], { timeoutMs: 60000 });
    assert.equal(a.code, 0, `ark cli ${cmd.join(' ')}: ${describeTool(a)}`);
    out.arkCli[cmd.join(' ')] = symbolize(a.stdout.trim());
  }
  return out;
}

describe('/zookeeper/config in an ensemble: Ark vs Apache ZooKeeper 3.8', () => {
  test('every_member_answers_the_same_config_as_zookeeper_members_do', { timeout: 300000 }, async (t) => {
    const skip = requireOrSkip(zookeeperMissing() ?? javaClientMissing() ?? executableMissing(zkCli, 'apt-get install zookeeper'));
    if (skip) {
      t.skip(skip);
      return;
    }
    const classDir = await compileJava([join(interopJavaDir, 'ClientProbe.java')]);
    // one ensemble after the other: three JVMs and three Node processes at once crowd two cores
    const observed: Observed[] = [];
    for (const start of [startZooKeeperEnsemble, startEnsemble]) {
      const ens = await start({ observers: 1, clientInLines: true });
      try {
        observed.push(await observe(ens, classDir));
      } finally {
        await ens.stop();
      }
    }
    const [zk, ark] = observed as [Observed, Observed];
    for (const o of [zk, ark]) assert.equal(new Set(o.raw).size, 1, `every member holds the same text: ${JSON.stringify(o.raw)}`);
    assert.deepEqual(ark.members, zk.members);
    assert.deepEqual(ark.zkCli, zk.zkCli, 'zkCli against each');
    assert.deepEqual(ark.arkCli, zk.arkCli, 'ark cli against each');
    assert.deepEqual(ark.arkCli, ark.zkCli, 'ark cli prints what zkCli prints');
    // what ZooKeeper printed, to read the comparison by
    assert.match(
      zk.members[0]!,
      /^server\.1=127\.0\.0\.1:P1:P2:participant;127\.0\.0\.1:P3\nserver\.2=127\.0\.0\.1:P4:P5:participant;127\.0\.0\.1:P6\n(.*\n){2}version=0\n/,
    );
    // ConfigUtils.getClientConfigStr walks the lines in java.util.Properties' hash order
    assert.equal(zk.zkCli['config -c'], '0 127.0.0.1:P6,127.0.0.1:P3,127.0.0.1:P12,127.0.0.1:P9');
    assert.match(
      zk.members[0]!,
      /\nczxid=0 mzxid=0 pzxid=0 ctime=0 mtime=set version=-1 cversion=0 aversion=-1 owner=0 dataLength=bytes of data numChildren=0$/,
    );
  });
});
