import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/error.js';
import { PROMETHEUS_PROVIDER_CLASS } from '../../src/config/endpoints.js';
import {
  classifyKey,
  systemPropertyName,
  HONOURED_KEYS,
  UNHONOURED_KEYS,
  UNHONOURED_KEY_PREFIXES,
  HONOURED_KEY_PREFIXES,
} from '../../src/config/keys.js';
import { parseProperties, javaPropertiesOrder } from '../../src/config/properties.js';
import { isFourLetterWordAllowed, type ServerConfig } from '../../src/config/serverconfig.js';
import { parseServerLine, configNodeText } from '../../src/config/serverline.js';
import { resolveConfig, parseZooCfg, DEFAULT_CONFIG_TEXT } from '../../src/config/zoocfg.js';

const obj = (m: Map<string, string>): Record<string, string> => Object.fromEntries(m);
const cfg = (text: string, opts: { baseDir?: string; myid?: number } = {}) => parseZooCfg(text, opts);

/** Asserts that fn throws a ConfigError for `key` whose message contains every fragment. */
function throwsConfigError(fn: () => unknown, key: string, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.key, key);
    for (const f of fragments) assert.ok(e.message.includes(f), `message '${e.message}' should mention '${f}'`);
    return true;
  });
}

// The zoo.cfg installed by Debian's zookeeper package (/etc/zookeeper/conf/zoo.cfg), verbatim.
const DEBIAN_ZOO_CFG = `# The number of milliseconds of each tick
tickTime=2000
# The number of ticks that the initial 
# synchronization phase can take
initLimit=10
# The number of ticks that can pass between 
# sending a request and getting an acknowledgement
syncLimit=5
# the directory where the snapshot is stored.
# do not use /tmp for storage, /tmp here is just 
# example sakes.
dataDir=/tmp/zookeeper
# the port at which the clients will connect
clientPort=2181
# the maximum number of client connections.
# increase this if you need to handle more clients
#maxClientCnxns=60
#
# Be sure to read the maintenance section of the 
# administrator guide before turning on autopurge.
#
# https://zookeeper.apache.org/doc/current/zookeeperAdmin.html#sc_maintenance
#
# The number of snapshots to retain in dataDir
#autopurge.snapRetainCount=3
# Purge task interval in hours
# Set to "0" to disable auto purge feature
#autopurge.purgeInterval=1

## Metrics Providers
#
# https://prometheus.io Metrics Exporter
#metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
#metricsProvider.httpHost=0.0.0.0
#metricsProvider.httpPort=7000
#metricsProvider.exportJvmInfo=true
`;

describe('parseProperties', () => {
  test('separators: =, :, whitespace, and whitespace around them', () => {
    const p = parseProperties(
      ['a=1', 'b:2', 'c 3', 'd = 4', 'e\t:\t5', 'f \f= 6', 'g', 'h=', 'i==7', 'j :=8', 'k = = 9', '=10'].join('\n'),
    );
    assert.deepEqual(obj(p), {
      a: '1',
      b: '2',
      c: '3',
      d: '4',
      e: '5',
      f: '6',
      g: '',
      h: '',
      i: '=7',
      j: '=8',
      k: '= 9',
      '': '10',
    });
  });

  test('only the first separator splits; the rest of the line is the value', () => {
    const p = parseProperties('url=http://h:80/x?a=b\nk v w = x');
    assert.equal(p.get('url'), 'http://h:80/x?a=b');
    assert.equal(p.get('k'), 'v w = x');
  });

  test('escaped separators and whitespace belong to the key', () => {
    const p = parseProperties('a\\=b=c\nx\\:y:z\nsp\\ ace = v\ntab\\\tkey\tv2');
    assert.deepEqual(obj(p), { 'a=b': 'c', 'x:y': 'z', 'sp ace': 'v', 'tab\tkey': 'v2' });
  });

  test('leading whitespace is dropped, trailing whitespace in values is kept', () => {
    const p = parseProperties('   \t\fkey = value  \t\n  other:  x ');
    assert.equal(p.get('key'), 'value  \t');
    assert.equal(p.get('other'), 'x ');
  });

  test('escapes: \\t \\n \\r \\f \\uXXXX and \\<other>', () => {
    const p = parseProperties('k=a\\tb\\nc\\rd\\fe\nu=\\u0041\\u00e9\\u20AC\nother=\\q\\z\\\\\\#\\!\\=\\:\\ \nkey\\u0020x=1');
    assert.equal(p.get('k'), 'a\tb\nc\rd\fe');
    assert.equal(p.get('u'), 'Aé€');
    assert.equal(p.get('other'), 'qz\\#!=: ');
    assert.equal(p.get('key x'), '1');
  });

  test('malformed \\uXXXX is an error, as in java.util.Properties', () => {
    assert.throws(() => parseProperties('k=\\u00G1'), ConfigError);
    assert.throws(() => parseProperties('k=\\u12'), ConfigError);
  });

  test('continuation lines: odd trailing backslashes continue, leading whitespace of the next line is dropped', () => {
    const p = parseProperties('fruits = apple, \\\n         banana, \\\n\t pear\nnext=1');
    assert.equal(p.get('fruits'), 'apple, banana, pear');
    assert.equal(p.get('next'), '1');
  });

  test('even number of trailing backslashes does not continue', () => {
    const p = parseProperties('a=x\\\\\nb=y\nc=z\\\\\\\nw');
    assert.equal(p.get('a'), 'x\\');
    assert.equal(p.get('b'), 'y');
    assert.equal(p.get('c'), 'z\\w');
  });

  test('continuation across \\r\\n and \\r line ends; key may continue too', () => {
    const p = parseProperties('a=1\\\r\n  2\r\nb=3\\\r  4\rke\\\n  y=5');
    assert.deepEqual(obj(p), { a: '12', b: '34', key: '5' });
  });

  test('a continued line starting with # or ! is not a comment', () => {
    const p = parseProperties('a=x\\\n  #not a comment\nb=y\\\n!bang');
    assert.equal(p.get('a'), 'x#not a comment');
    assert.equal(p.get('b'), 'y!bang');
  });

  test('a comment line ending in a backslash does not continue', () => {
    const p = parseProperties('# comment \\\nkey=value');
    assert.deepEqual(obj(p), { key: 'value' });
  });

  test('an empty continuation line ends the logical line', () => {
    const p = parseProperties('a=x\\\n\nb=y\\\n   \nc=z');
    assert.deepEqual(obj(p), { a: 'x', b: 'y', c: 'z' });
  });

  test('continuation at end of input', () => {
    assert.deepEqual(obj(parseProperties('a=x\\')), { a: 'x' });
    assert.deepEqual(obj(parseProperties('a=x\\\n')), { a: 'x' });
    assert.deepEqual(obj(parseProperties('a=x\\\r\n')), { a: 'x' });
  });

  test('corner cases checked against java.util.Properties', () => {
    // A bare backslash line collects nothing, so the next line starts afresh.
    assert.deepEqual(obj(parseProperties('\\\n#c\nx=1')), { x: '1' });
    assert.deepEqual(obj(parseProperties('\\\n\nx=1')), { x: '1' });
    // ... except on the input's last line, where Java yields an empty key.
    assert.deepEqual(obj(parseProperties('\\\n')), { '': '' });
    assert.deepEqual(obj(parseProperties('\\')), { '': '' });
    assert.deepEqual(obj(parseProperties('\\\r\n')), {});
  });

  test('comments (# and !, after leading whitespace) and blank lines', () => {
    const p = parseProperties('# c1\n! c2\n   # c3\n\t! c4\n\n   \n\f\nkey=v # not a comment ! either\n');
    assert.deepEqual(obj(p), { key: 'v # not a comment ! either' });
  });

  test('line terminators \\n, \\r and \\r\\n', () => {
    const p = parseProperties('a=1\nb=2\rc=3\r\nd=4\n\re=5');
    assert.deepEqual(obj(p), { a: '1', b: '2', c: '3', d: '4', e: '5' });
  });

  test('later keys override earlier ones', () => {
    const p = parseProperties('k=1\nother=x\nk=2');
    assert.equal(p.get('k'), '2');
    assert.equal(p.size, 2);
  });

  test("values keep ';' and everything after it", () => {
    const p = parseProperties('server.1=h:2888:3888:participant;0.0.0.0:2181\nserver.2 = h2:2888:3888;2181 ');
    assert.equal(p.get('server.1'), 'h:2888:3888:participant;0.0.0.0:2181');
    assert.equal(p.get('server.2'), 'h2:2888:3888;2181 ');
  });

  test('empty input and only comments give an empty map', () => {
    assert.equal(parseProperties('').size, 0);
    assert.equal(parseProperties('# nothing\n\n!x\n').size, 0);
  });
});

describe('resolveConfig: sample files', () => {
  test('Debian /etc/zookeeper/conf/zoo.cfg', () => {
    const { config, warnings } = cfg(DEBIAN_ZOO_CFG);
    assert.deepEqual(warnings, []);
    assert.equal(config.tickTimeMs, 2000);
    assert.equal(config.initLimit, 10);
    assert.equal(config.syncLimit, 5);
    assert.equal(config.dataDir, '/tmp/zookeeper');
    assert.equal(config.dataLogDir, '/tmp/zookeeper');
    assert.equal(config.clientPort, 2181);
    assert.equal(config.clientPortAddress, undefined);
    assert.equal(config.maxClientCnxns, 60);
    assert.equal(config.minSessionTimeoutMs, 4000);
    assert.equal(config.maxSessionTimeoutMs, 40000);
    assert.equal(config.autopurgeSnapRetainCount, 3);
    assert.equal(config.autopurgePurgeIntervalHours, 0);
    assert.deepEqual(config.servers, []);
    assert.equal(config.distributed, false);
    assert.equal(config.systemProperties.size, 0);
  });

  test('zoo_sample.cfg keys, with the commented-out settings enabled', () => {
    const text = DEBIAN_ZOO_CFG.replace(/^#(maxClientCnxns|autopurge\.|metricsProvider\.)/gm, '$1');
    const { config, warnings } = cfg(text);
    assert.equal(config.maxClientCnxns, 60);
    assert.equal(config.autopurgeSnapRetainCount, 3);
    assert.equal(config.autopurgePurgeIntervalHours, 1);
    // The Prometheus provider's keys are acted on: GET /metrics on 0.0.0.0:7000.
    for (const k of [
      'metricsProvider.className',
      'metricsProvider.httpHost',
      'metricsProvider.httpPort',
      'metricsProvider.exportJvmInfo',
    ]) {
      assert.equal(classifyKey(k), 'honoured', k);
    }
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.prometheus, { httpHost: '0.0.0.0', httpPort: 7000, httpsPort: null, tls: null, exportProcessMetrics: true });
    // QuorumPeerConfig consumes metricsProvider.* itself: they are not system properties.
    assert.equal(config.systemProperties.size, 0);
  });
});

describe('resolveConfig: defaults', () => {
  test('only dataDir set: ZooKeeper defaults', () => {
    const { config, warnings } = cfg('dataDir=/var/lib/zookeeper');
    assert.deepEqual(warnings, []);
    const expected: Omit<ServerConfig, 'fourLetterWhitelist' | 'systemProperties'> = {
      tickTimeMs: 3000,
      dataDir: '/var/lib/zookeeper',
      dataLogDir: '/var/lib/zookeeper',
      clientPort: undefined,
      clientPortAddress: undefined,
      secureClientPort: undefined,
      secureClientPortAddress: undefined,
      portUnification: false,
      clientTls: null,
      quorumSecurity: { sslQuorum: false, portUnification: false, reloadCertFiles: false, tls: null, sasl: null },
      maxClientCnxns: 60,
      minSessionTimeoutMs: 6000,
      maxSessionTimeoutMs: 60000,
      juteMaxBufferBytes: 0xfffff,
      adminEnabled: true,
      adminServerPort: 8080,
      adminServerAddress: '0.0.0.0',
      adminConsoleEnabled: true,
      adminSecurity: 'plain',
      adminTls: null,
      extendedTypesEnabled: false,
      superDigest: undefined,
      auth: {
        saslProvider: false,
        x509Provider: false,
        saslSuperUser: undefined,
        x509SuperUser: undefined,
        loginConfigKey: undefined,
        saslServerSection: 'Server',
        enforceSchemes: null,
      },
      snapCount: 100000,
      snapSizeLimitKb: 4194304,
      forceSync: true,
      autopurgeSnapRetainCount: 3,
      autopurgePurgeIntervalHours: 0,
      initLimit: undefined,
      syncLimit: undefined,
      servers: [],
      peerType: 'participant',
      distributed: false,
      containerCheckIntervalMs: 60000,
      enforceQuota: false,
      localSessionsEnabled: false,
      standaloneEnabled: true,
      reconfigEnabled: false,
      readOnlyModeEnabled: false,
      prometheus: null,
      preAllocBytes: 64 * 1024 * 1024,
      txnLogSegmentBytes: 1024 * 1024 * 1024,
      commitLogCount: 500,
      snapshotCompression: null,
      fsyncWarningThresholdMs: 1000,
      backup: null,
      // parseZooCfg keeps the text for the AdminServer's initial_configuration
      initialConfigText: 'dataDir=/var/lib/zookeeper',
    };
    const { fourLetterWhitelist, systemProperties, ...rest } = config;
    assert.deepEqual(rest, expected);
    assert.deepEqual([...fourLetterWhitelist], ['srvr']);
    assert.equal(systemProperties.size, 0);
    assert.equal(isFourLetterWordAllowed(config, 'srvr'), true);
    assert.equal(isFourLetterWordAllowed(config, 'ruok'), false);
  });

  test('dataDir is required', () => {
    throwsConfigError(() => cfg('clientPort=2181'), 'dataDir', 'dataDir');
    throwsConfigError(() => cfg('dataDir=  '), 'dataDir');
  });

  test('keys and values are trimmed as QuorumPeerConfig does', () => {
    const { config } = resolveConfig(
      new Map([
        ['  dataDir ', ' /d  '],
        ['clientPort', '\t2181 '],
      ]),
    );
    assert.equal(config.dataDir, '/d');
    assert.equal(config.clientPort, 2181);
    assert.equal(cfg('dataDir=/d\ntickTime = 1000   \n').config.tickTimeMs, 1000);
  });

  test('dataLogDir defaults to dataDir; relative dirs resolve against baseDir', () => {
    let r = cfg('dataDir=data\ndataLogDir=../logs', { baseDir: '/etc/ark' });
    assert.equal(r.config.dataDir, '/etc/ark/data');
    assert.equal(r.config.dataLogDir, '/etc/logs');
    r = cfg('dataDir=./data', { baseDir: '/etc/ark' });
    assert.equal(r.config.dataDir, '/etc/ark/data');
    assert.equal(r.config.dataLogDir, '/etc/ark/data');
    r = cfg('dataDir=/abs/data\ndataLogDir=/abs/log', { baseDir: '/etc/ark' });
    assert.equal(r.config.dataDir, '/abs/data');
    assert.equal(r.config.dataLogDir, '/abs/log');
    r = cfg('dataDir=rel');
    assert.equal(r.config.dataDir, 'rel');
  });

  test('clientPort=0 means no client port; clientPortAddress needs a clientPort', () => {
    assert.equal(cfg('dataDir=/d\nclientPort=0').config.clientPort, undefined);
    throwsConfigError(() => cfg('dataDir=/d\nclientPortAddress=127.0.0.1'), 'clientPortAddress', 'clientPort');
    const { config } = cfg('dataDir=/d\nclientPort=2182\nclientPortAddress=::1');
    assert.equal(config.clientPort, 2182);
    assert.equal(config.clientPortAddress, '::1');
  });

  test('DEFAULT_CONFIG_TEXT: standalone on 127.0.0.1:2181, admin off, all 4lw', () => {
    const { config, warnings } = cfg(DEFAULT_CONFIG_TEXT, { baseDir: '/srv/ark' });
    assert.deepEqual(warnings, []);
    assert.equal(config.tickTimeMs, 2000);
    assert.equal(config.dataDir, '/srv/ark/data');
    assert.equal(config.dataLogDir, '/srv/ark/data');
    assert.equal(config.clientPort, 2181);
    assert.equal(config.clientPortAddress, '127.0.0.1');
    assert.equal(config.adminEnabled, false);
    assert.equal(isFourLetterWordAllowed(config, 'mntr'), true);
    assert.equal(isFourLetterWordAllowed(config, 'wchp'), true);
    assert.deepEqual(config.servers, []);
    assert.equal(config.distributed, false);
    assert.equal(config.minSessionTimeoutMs, 4000);
    assert.equal(config.maxSessionTimeoutMs, 40000);
  });
});

describe('resolveConfig: session timeouts', () => {
  test('derived from tickTime: 2 and 20 ticks', () => {
    const { config } = cfg('dataDir=/d\ntickTime=2000');
    assert.equal(config.minSessionTimeoutMs, 4000);
    assert.equal(config.maxSessionTimeoutMs, 40000);
  });

  test('-1 means the derived default', () => {
    const { config } = cfg('dataDir=/d\ntickTime=1000\nminSessionTimeout=-1\nmaxSessionTimeout=-1');
    assert.equal(config.minSessionTimeoutMs, 2000);
    assert.equal(config.maxSessionTimeoutMs, 20000);
  });

  test('explicit values win, each independently', () => {
    let r = cfg('dataDir=/d\ntickTime=1000\nmaxSessionTimeout=5000');
    assert.equal(r.config.minSessionTimeoutMs, 2000);
    assert.equal(r.config.maxSessionTimeoutMs, 5000);
    r = cfg('dataDir=/d\ntickTime=1000\nminSessionTimeout=500\nmaxSessionTimeout=90000');
    assert.equal(r.config.minSessionTimeoutMs, 500);
    assert.equal(r.config.maxSessionTimeoutMs, 90000);
  });

  test('min larger than max is an error', () => {
    throwsConfigError(() => cfg('dataDir=/d\ntickTime=1000\nminSessionTimeout=30000'), 'minSessionTimeout', 'maxSessionTimeout');
  });

  test('tickTime must be positive', () => {
    throwsConfigError(() => cfg('dataDir=/d\ntickTime=0'), 'tickTime', '0');
  });
});

describe('server.N', () => {
  const base = 'dataDir=/d\ninitLimit=10\nsyncLimit=5\n';

  test('host:quorumPort:electionPort', () => {
    const { config } = cfg(`${base}server.1=zk1.example.com:2888:3888\nserver.2=zk2:2889:3889\nserver.3=10.0.0.3:2888:3888`);
    assert.deepEqual(config.servers, [
      { id: 1, host: 'zk1.example.com', quorumPort: 2888, electionPort: 3888, role: 'participant' },
      { id: 2, host: 'zk2', quorumPort: 2889, electionPort: 3889, role: 'participant' },
      { id: 3, host: '10.0.0.3', quorumPort: 2888, electionPort: 3888, role: 'participant' },
    ]);
    assert.equal(config.distributed, true);
    assert.equal(config.initLimit, 10);
    assert.equal(config.syncLimit, 5);
  });

  test('with role (case-insensitive)', () => {
    const { config } = cfg(
      `${base}server.1=a:1:2:participant\nserver.2=b:1:2:PARTICIPANT\nserver.3=c:1:2:observer\nserver.4=d:1:2:Observer`,
    );
    assert.deepEqual(
      config.servers.map((s) => [s.id, s.role]),
      [
        [1, 'participant'],
        [2, 'participant'],
        [3, 'observer'],
        [4, 'observer'],
      ],
    );
  });

  test('with ;clientPort', () => {
    const { server } = parseServerLine(1, 'h:2888:3888;2181');
    assert.deepEqual(server, { id: 1, host: 'h', quorumPort: 2888, electionPort: 3888, role: 'participant', clientPort: 2181 });
    assert.equal('clientAddress' in server, false);
  });

  test('with role and ;address:clientPort', () => {
    assert.deepEqual(parseServerLine(2, 'h:2888:3888:participant;0.0.0.0:2181').server, {
      id: 2,
      host: 'h',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'participant',
      clientAddress: '0.0.0.0',
      clientPort: 2181,
    });
    assert.deepEqual(parseServerLine(3, 'h:2888:3888;127.0.0.1:2181').server, {
      id: 3,
      host: 'h',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'participant',
      clientAddress: '127.0.0.1',
      clientPort: 2181,
    });
    assert.equal(parseServerLine(4, 'h:2888:3888:observer;2181').server.role, 'observer');
  });

  test('IPv6 in brackets, for the quorum and the client address', () => {
    assert.deepEqual(parseServerLine(1, '[2001:db8::1]:2888:3888:observer;[::1]:2181').server, {
      id: 1,
      host: '2001:db8::1',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'observer',
      clientAddress: '::1',
      clientPort: 2181,
    });
    assert.deepEqual(parseServerLine(2, '[fe80::1]:2888:3888').server, {
      id: 2,
      host: 'fe80::1',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'participant',
    });
  });

  test('trailing empty parts are ignored as Java split does', () => {
    assert.deepEqual(parseServerLine(1, 'h:2888:3888:;').server, {
      id: 1,
      host: 'h',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'participant',
    });
  });

  test('malformed lines are ConfigErrors naming the key', () => {
    const bad: Array<[string, string[]]> = [
      ['h:2888', ['h:2888']],
      ['h:1:2:participant:extra', ['h:1:2:participant:extra']],
      ['h:1:2;a;b', ['h:1:2;a;b']],
      ['h:1:2;a:b:3', ['a:b:3']],
      ['h:x:3888', ["'x'"]],
      ['h:2888:3888;port', ["'port'"]],
      ['h:2888:2888', ['different']],
      ['h:2888:3888:leader', ["'leader'"]],
      ['h:70000:3888', ["'70000'"]],
      ['[::1:2888:3888', ['[::1:2888:3888']],
      [':2888:3888', ['empty host']],
      ['h:1:2|g:3:4', ['multiAddress.enabled']],
    ];
    for (const [value, frags] of bad) {
      throwsConfigError(() => cfg(`${base}server.7=${value}`), 'server.7', ...frags);
    }
    throwsConfigError(() => cfg(`${base}server.x=h:1:2`), 'server.x', "'x'");
  });

  test('servers are ordered by id; later duplicates win', () => {
    const { config } = cfg(`${base}server.3=c:1:2\nserver.1=a:1:2\nserver.2=b:1:2\nserver.01=z:5:6`);
    assert.deepEqual(
      config.servers.map((s) => `${s.id}=${s.host}`),
      ['1=z', '2=b', '3=c'],
    );
  });

  test('initLimit/syncLimit default to 10/5 with a warning when servers are listed', () => {
    const { config, warnings } = cfg('dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2');
    assert.equal(config.initLimit, 10);
    assert.equal(config.syncLimit, 5);
    assert.ok(warnings.some((w) => w.startsWith('initLimit:')));
    assert.ok(warnings.some((w) => w.startsWith('syncLimit:')));
  });

  test('distributed follows isDistributed(): >1 voter, or standalone disabled', () => {
    assert.equal(cfg(`${base}server.1=a:1:2`).config.distributed, false);
    assert.equal(cfg(`${base}server.1=a:1:2\nstandaloneEnabled=false`).config.distributed, true);
    assert.equal(cfg(`${base}server.1=a:1:2\nserver.2=b:1:2`).config.distributed, true);
    throwsConfigError(() => cfg(`${base}server.1=a:1:2\nserver.2=b:1:2:observer`), 'server.2', 'observers');
  });

  test("the client port for this server's id is used when clientPort is not set", () => {
    const text = `${base}server.1=a:2888:3888;2181\nserver.2=b:2888:3888;127.0.0.2:2182\nserver.3=c:2888:3888`;
    let r = cfg(text, { myid: 1 });
    assert.equal(r.config.clientPort, 2181);
    assert.equal(r.config.clientPortAddress, undefined);
    r = cfg(text, { myid: 2 });
    assert.equal(r.config.clientPort, 2182);
    assert.equal(r.config.clientPortAddress, '127.0.0.2');
    r = cfg(text, { myid: 3 });
    assert.equal(r.config.clientPort, undefined);
    r = cfg(text);
    assert.equal(r.config.clientPort, undefined);
    assert.ok(r.warnings.some((w) => w.includes('myid')));
    r = cfg(text, { myid: 9 });
    assert.ok(r.warnings.some((w) => w.includes('myid 9')));
  });

  test('a static clientPort must agree with the server line (as in ZooKeeper)', () => {
    const text = `${base}server.1=a:2888:3888;127.0.0.2:2181\nserver.2=b:2888:3888`;
    // Same port with a wildcard static address: fine, the server line's address is used.
    const r = cfg(`${text}\nclientPort=2181`, { myid: 1 });
    assert.equal(r.config.clientPort, 2181);
    assert.equal(r.config.clientPortAddress, '127.0.0.2');
    throwsConfigError(() => cfg(`${text}\nclientPort=2185`, { myid: 1 }), 'server.1', '2185');
    throwsConfigError(() => cfg(`${text}\nclientPort=2181\nclientPortAddress=127.0.0.3`, { myid: 1 }), 'server.1', '127.0.0.3');
  });

  test("peerType follows this server's role in the server list", () => {
    const text = `${base}server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2:observer\n`;
    assert.equal(cfg(text, { myid: 3 }).config.peerType, 'observer');
    const r = cfg(`${text}peerType=observer`, { myid: 1 });
    assert.equal(r.config.peerType, 'participant');
    assert.ok(r.warnings.some((w) => w.startsWith('peerType')));
    assert.equal(cfg('dataDir=/d\npeerType=Observer').config.peerType, 'observer');
    throwsConfigError(() => cfg('dataDir=/d\npeerType=leader'), 'peerType', 'leader');
  });

  test('server.N together with dynamicConfigFile is an error', () => {
    throwsConfigError(() => cfg(`${base}dynamicConfigFile=/x\nserver.1=a:1:2`), 'server.1', 'dynamic');
  });
});

describe('/zookeeper/config text', () => {
  const servers = (lines: Record<number, string>) => Object.entries(lines).map(([id, v]) => parseServerLine(Number(id), v).server);

  test('as a ZooKeeper 3.8 ensemble printed it for the same lines', () => {
    // a live 3-member ZooKeeper 3.8 ensemble (static zoo.cfg, reconfig off) held exactly this
    assert.equal(
      configNodeText(
        servers({
          1: '127.0.0.1:15970:15971;127.0.0.1:15969',
          2: '127.0.0.1:15973:15974:participant;15972',
          3: 'localhost:15976:15977',
        }),
      ),
      'server.1=127.0.0.1:15970:15971:participant;127.0.0.1:15969\n' +
        'server.2=127.0.0.1:15973:15974:participant;0.0.0.0:15972\n' +
        'server.3=localhost:15976:15977:participant\n' +
        'version=0',
    );
    assert.equal(
      configNodeText(servers({ 1: 'a:1:2', 2: 'b:1:2', 3: 'c:1:2', 4: 'd:1:2:observer' })),
      'server.1=a:1:2:participant\nserver.2=b:1:2:participant\nserver.3=c:1:2:participant\nserver.4=d:1:2:observer\nversion=0',
    );
  });

  test('IPv6 addresses go in brackets (QuorumServer.delimitedHostString)', () => {
    assert.equal(
      configNodeText(servers({ 1: '[2001:db8::1]:2888:3888;[::1]:2181' })),
      'server.1=[2001:db8::1]:2888:3888:participant;[::1]:2181\nversion=0',
    );
  });

  test('members come in Java HashMap<Long> order', () => {
    // the orders java.util.HashMap iterated these ids in (Java 17)
    const order = (ids: number[]): number[] =>
      configNodeText(servers(Object.fromEntries(ids.map((id) => [id, 'h:1:2']))))
        .split('\n')
        .filter((l) => l.startsWith('server.'))
        .map((l) => Number(/^server\.(\d+)=/.exec(l)![1]));
    assert.deepEqual(order([1, 2, 3]), [1, 2, 3]);
    assert.deepEqual(order([5, 20]), [20, 5]);
    assert.deepEqual(order([3, 100, 1000, 70000]), [70000, 3, 100, 1000]);
    assert.deepEqual(
      order([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 33]),
      [1, 33, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20],
    );
    assert.deepEqual(order([4294967297, 1, 2]), [4294967297, 1, 2]);
  });

  test('java_util_Properties_walks_a_config_in_its_hash_order', () => {
    // the orders Java 17's Properties.entrySet() gave after load() of server.N lines and version=0
    const keys = (ids: number[]): string[] => [...ids.map((id) => `server.${id}`), 'version'];
    assert.deepEqual(javaPropertiesOrder(keys([1, 2, 3, 4])), ['server.2', 'server.1', 'server.4', 'server.3', 'version']);
    assert.deepEqual(javaPropertiesOrder(keys([1, 2, 3])), ['server.2', 'server.1', 'server.3', 'version']);
    assert.deepEqual(javaPropertiesOrder(keys([5, 20, 100])), ['server.20', 'server.5', 'version', 'server.100']);
    assert.deepEqual(javaPropertiesOrder(keys([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])), [
      'version',
      'server.10',
      'server.11',
      'server.2',
      'server.1',
      'server.12',
      'server.13',
      'server.6',
      'server.5',
      'server.4',
      'server.3',
      'server.9',
      'server.8',
      'server.7',
    ]);
  });
});

describe('resolveConfig: system-property settings', () => {
  test('4lw.commands.whitelist: comma separated, trimmed, * for all', () => {
    let { config } = cfg('dataDir=/d\n4lw.commands.whitelist= stat, ruok ,,mntr ,');
    assert.deepEqual([...config.fourLetterWhitelist].sort(), ['mntr', 'ruok', 'stat']);
    assert.equal(isFourLetterWordAllowed(config, 'ruok'), true);
    assert.equal(isFourLetterWordAllowed(config, 'srvr'), false);
    ({ config } = cfg('dataDir=/d\n4lw.commands.whitelist=*'));
    assert.equal(isFourLetterWordAllowed(config, 'anything'), true);
    ({ config } = cfg('dataDir=/d\nzookeeper.4lw.commands.whitelist=srvr, *'));
    assert.equal(isFourLetterWordAllowed(config, 'cons'), true);
    ({ config } = cfg('dataDir=/d\n4lw.commands.whitelist='));
    assert.equal(config.fourLetterWhitelist.size, 0);
  });

  test('settings and their system property names', () => {
    const { config, warnings } = cfg(
      [
        'dataDir=/d',
        'jute.maxbuffer=0x200000',
        'admin.enableServer=false',
        'admin.serverPort=9090',
        'admin.serverAddress=127.0.0.1',
        'extendedTypesEnabled=TRUE',
        'DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=',
        'snapCount=5000',
        'forceSync=no',
        'znode.container.checkIntervalMs=1000',
        'enforceQuota=true',
      ].join('\n'),
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.juteMaxBufferBytes, 0x200000);
    assert.equal(config.adminEnabled, false);
    assert.equal(config.adminServerPort, 9090);
    assert.equal(config.adminServerAddress, '127.0.0.1');
    assert.equal(config.extendedTypesEnabled, true);
    assert.equal(config.superDigest, 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    assert.equal(config.snapCount, 5000);
    assert.equal(config.forceSync, false);
    assert.equal(config.containerCheckIntervalMs, 1000);
    assert.equal(config.enforceQuota, true);
    assert.deepEqual(obj(config.systemProperties), {
      'zookeeper.jute.maxbuffer': '0x200000',
      'zookeeper.admin.enableServer': 'false',
      'zookeeper.admin.serverPort': '9090',
      'zookeeper.admin.serverAddress': '127.0.0.1',
      'zookeeper.extendedTypesEnabled': 'TRUE',
      'zookeeper.DigestAuthenticationProvider.superDigest': 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=',
      'zookeeper.snapCount': '5000',
      'zookeeper.forceSync': 'no',
      'zookeeper.znode.container.checkIntervalMs': '1000',
      'zookeeper.enforceQuota': 'true',
    });
  });

  test('the zookeeper.-prefixed spellings work too', () => {
    const { config, warnings } = cfg(
      [
        'dataDir=/d',
        'zookeeper.DigestAuthenticationProvider.superDigest=u:x',
        'zookeeper.enforceQuota=TRUE',
        'zookeeper.znode.container.checkIntervalMs=250',
        'zookeeper.snapCount=#10',
      ].join('\n'),
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.superDigest, 'u:x');
    assert.equal(config.enforceQuota, true);
    assert.equal(config.containerCheckIntervalMs, 250);
    assert.equal(config.snapCount, 16);
  });

  test('booleans parse like Boolean.parseBoolean; forceSync is yes/no', () => {
    let r = cfg('dataDir=/d\nextendedTypesEnabled=yes\nenforceQuota=1\nadmin.enableServer=nope');
    assert.equal(r.config.extendedTypesEnabled, false);
    assert.equal(r.config.enforceQuota, false);
    assert.equal(r.config.adminEnabled, false);
    r = cfg('dataDir=/d\nforceSync=yes');
    assert.equal(r.config.forceSync, true);
    assert.deepEqual(r.warnings, []);
    r = cfg('dataDir=/d\nforceSync=false');
    assert.equal(r.config.forceSync, true); // only "no" turns it off, as in ZooKeeper
    assert.ok(r.warnings.some((w) => w.startsWith('forceSync:')));
  });

  test("QuorumPeerConfig's own booleans accept only true/false", () => {
    const r = cfg('dataDir=/d\nlocalSessionsEnabled=TRUE\nstandaloneEnabled=False\nreconfigEnabled=true');
    assert.equal(r.config.localSessionsEnabled, true);
    assert.equal(r.config.standaloneEnabled, false);
    assert.equal(r.config.reconfigEnabled, true);
    throwsConfigError(() => cfg('dataDir=/d\nstandaloneEnabled=yes'), 'standaloneEnabled', 'yes');
    throwsConfigError(() => cfg('dataDir=/d\nreconfigEnabled=1'), 'reconfigEnabled', '1');
    throwsConfigError(() => cfg('dataDir=/d\nlocalSessionsEnabled=on'), 'localSessionsEnabled', 'on');
  });

  test('autopurge.snapRetainCount below 3 becomes 3 with a warning; snapCount below 2 becomes 2', () => {
    const r = cfg('dataDir=/d\nautopurge.snapRetainCount=1\nsnapCount=1');
    assert.equal(r.config.autopurgeSnapRetainCount, 3);
    assert.equal(r.config.snapCount, 2);
    assert.equal(r.warnings.length, 2);
  });
});

describe('resolveConfig: unknown and unsupported keys', () => {
  test('unknown keys become zookeeper.* system properties with a warning each, never an error', () => {
    const { config, warnings } = cfg('dataDir=/d\nfoo.bar= baz \nzookeeper.qux=1\nweird key=v');
    assert.equal(config.systemProperties.get('zookeeper.foo.bar'), 'baz');
    assert.equal(config.systemProperties.get('zookeeper.qux'), '1'); // not doubly prefixed
    assert.equal(config.systemProperties.get('zookeeper.weird'), 'key=v');
    assert.equal(warnings.length, 3);
    assert.ok(warnings[0]?.includes('foo.bar') && warnings[0].includes('zookeeper.foo.bar'));
    assert.ok(warnings[1]?.includes('zookeeper.qux'));
    assert.ok(warnings[2]?.includes('weird'));
    assert.equal(classifyKey('foo.bar'), 'unknown');
    assert.equal(classifyKey('zookeeper.tickTime'), 'unknown'); // only QuorumPeerConfig reads tickTime
  });

  test('known but unsupported keys: one warning per key; system properties only for non-QuorumPeerConfig keys', () => {
    const keys = [
      'ssl.crl=true',
      'ssl.context.supplier.class=x.Y',
      'quorum.cnxn.threads.size=20',
      'quorumListenOnAllIPs=true',
      'electionAlg=3',
      'syncEnabled=true',
      'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
      'audit.enable=true',
      'admin.commandURL=/cmds',
      'globalOutstandingLimit=1000',
      'metricsProvider.numWorkerThreads=10',
      'group.1=1:2:3',
      'weight.1=1',
    ];
    const { config, warnings } = cfg(`dataDir=/d\n${keys.join('\n')}`);
    assert.equal(warnings.length, keys.length);
    for (const kv of keys) {
      const key = kv.slice(0, kv.indexOf('='));
      assert.equal(classifyKey(key), 'unhonoured', key);
      assert.ok(
        warnings.some((w) => w.startsWith(`${key}:`)),
        `warning for ${key}`,
      );
    }
    assert.equal(config.systemProperties.get('zookeeper.serverCnxnFactory'), 'org.apache.zookeeper.server.NettyServerCnxnFactory');
    assert.equal(config.systemProperties.get('zookeeper.ssl.crl'), 'true');
    assert.equal(config.systemProperties.has('zookeeper.quorum.cnxn.threads.size'), false);
    assert.equal(config.systemProperties.has('zookeeper.metricsProvider.numWorkerThreads'), false);
  });

  test('metricsProvider: the Prometheus endpoint, on only when className names it', () => {
    const on = (text: string): ReturnType<typeof cfg> => cfg(`dataDir=/d\n${text}`);
    assert.deepEqual(
      on(
        'metricsProvider.className=prometheus\nmetricsProvider.httpPort=9141\nmetricsProvider.httpHost=127.0.0.1\nmetricsProvider.exportJvmInfo=false',
      ).config.prometheus,
      { httpHost: '127.0.0.1', httpPort: 9141, httpsPort: null, tls: null, exportProcessMetrics: false },
    );
    assert.equal(on('metricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider').config.prometheus, null);
    assert.deepEqual(on('metricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider').warnings, []);
    const other = on('metricsProvider.className=com.example.Statsd\nmetricsProvider.httpPort=7001');
    assert.equal(other.config.prometheus, null);
    assert.equal(other.warnings.length, 2);
    assert.ok(other.warnings.some((w) => w.startsWith('metricsProvider.className:')));
    assert.ok(other.warnings.some((w) => w.startsWith('metricsProvider.httpPort: ignored')));
    assert.equal(cfg(DEFAULT_CONFIG_TEXT).config.prometheus, null);
    throwsConfigError(
      () => on(`metricsProvider.className=${PROMETHEUS_PROVIDER_CLASS}\nmetricsProvider.httpPort=seven`),
      'metricsProvider.httpPort',
      'seven',
    );
    throwsConfigError(
      () => on('metricsProvider.className=prometheus\nmetricsProvider.httpPort=70000'),
      'metricsProvider.httpPort',
      '70000',
    );
  });

  test('exported key lists', () => {
    for (const k of [
      'tickTime',
      'dataDir',
      'clientPort',
      '4lw.commands.whitelist',
      'jute.maxbuffer',
      'enforceQuota',
      'preAllocSize',
      'backup.archiveDir',
      'secureClientPort',
      'ssl.keyStore.location',
      'client.portUnification',
    ]) {
      assert.ok(HONOURED_KEYS.has(k), k);
      assert.equal(classifyKey(k), 'honoured');
    }
    assert.deepEqual([...HONOURED_KEY_PREFIXES], ['server.', 'authProvider.']);
    assert.equal(classifyKey('authProvider.1'), 'honoured');
    assert.equal(classifyKey('server.12'), 'honoured');
    assert.equal(classifyKey('zookeeper.snapCount'), 'honoured');
    for (const k of ['oraclePath', 'electionAlg', 'dynamicConfigFile', 'quorumListenOnAllIPs', 'audit.enable']) {
      assert.ok(UNHONOURED_KEYS.has(k), k);
    }
    for (const p of ['ssl.', 'metricsProvider.']) assert.ok(UNHONOURED_KEY_PREFIXES.includes(p), p);
    for (const k of HONOURED_KEYS) assert.equal(UNHONOURED_KEYS.has(k), false, k);
    assert.equal(systemPropertyName('snapCount'), 'zookeeper.snapCount');
    assert.equal(systemPropertyName('zookeeper.snapCount'), 'zookeeper.snapCount');
  });
});

describe('resolveConfig: bad numbers', () => {
  const cases: Array<[string, string]> = [
    ['tickTime', 'abc'],
    ['clientPort', '21a'],
    ['clientPort', '70000'],
    ['maxClientCnxns', '6O'],
    ['minSessionTimeout', '1.5'],
    ['maxSessionTimeout', '1e5'],
    ['initLimit', 'ten'],
    ['syncLimit', '0x5'], // Integer.parseInt: no hex
    ['autopurge.snapRetainCount', ''],
    ['autopurge.purgeInterval', '99999999999'],
    ['jute.maxbuffer', '1MB'],
    ['admin.serverPort', '80 80'],
    ['snapCount', '08'], // Integer.decode: leading 0 means octal
    ['zookeeper.snapCount', 'lots'],
    ['znode.container.checkIntervalMs', '-'],
  ];
  for (const [key, value] of cases) {
    test(`${key}=${value}`, () => {
      throwsConfigError(() => cfg(`dataDir=/d\nclientPort=2181\n${key}=${value}`), key, key, `'${value}'`);
    });
  }

  test('ConfigError is an Error with a key', () => {
    const e = new ConfigError('k', 'msg');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'ConfigError');
    assert.equal(e.key, 'k');
    assert.equal(e.message, 'msg');
  });
});

describe('resolveConfig: runtime settings are typed and checked', () => {
  test('values as ZooKeeper reads them (Long.decode), backup.* with the archive', () => {
    const { config, warnings } = cfg(
      [
        'dataDir=/d',
        'preAllocSize=0x400',
        'txnLogSizeLimitInKb=2048',
        'zookeeper.fsync.warningthresholdms=250',
        'snapshot.compression.method=gz',
        'backup.archiveDir=arch',
        'backup.intervalMs=3600000',
        'backup.retainCount=7',
        'backup.retainHours=0.5',
        'backup.archiveIntervalMs=5000',
      ].join('\n'),
      { baseDir: '/base' },
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.preAllocBytes, 1024 * 1024);
    assert.equal(config.txnLogSegmentBytes, 2048 * 1024);
    assert.equal(config.fsyncWarningThresholdMs, 250);
    assert.equal(config.snapshotCompression, 'gz');
    assert.deepEqual(config.backup, {
      archiveDir: '/base/arch',
      archiveIntervalMs: 5000,
      intervalMs: 3600000,
      retainCount: 7,
      retainHours: 0.5,
      recipients: [],
      recipientsFile: null,
      s3: {},
    });
  });

  test('backup.archiveDir as an s3:// URL is kept as given, with backup.s3.*; backup.s3.* beside a directory is ignored with a warning', () => {
    const { config, warnings } = cfg(
      [
        'dataDir=/d',
        'backup.archiveDir=s3://acme-ark/prod',
        'backup.s3.endpoint=http://127.0.0.1:9000',
        'backup.s3.region=eu-west-1',
        'backup.s3.forcePathStyle=false',
      ].join('\n'),
      { baseDir: '/base' },
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.backup?.archiveDir, 's3://acme-ark/prod');
    assert.deepEqual(config.backup?.s3, { endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', forcePathStyle: false });
    const local = cfg('dataDir=/d\nbackup.archiveDir=/a\nbackup.s3.region=eu-west-1');
    assert.match(local.warnings.join('\n'), /backup\.s3\.region: ignored, backup\.archiveDir is not an s3:\/\/ URL/);
  });

  test('the archive interval defaults to a minute; txnLogSizeLimitInKb <= 0 means no size limit', () => {
    const { config } = cfg('dataDir=/d\nbackup.archiveDir=/a\ntxnLogSizeLimitInKb=-1');
    assert.equal(config.backup?.archiveIntervalMs, 60000);
    assert.equal(config.backup?.intervalMs, 0);
    assert.equal(config.txnLogSegmentBytes, 1024 * 1024 * 1024);
  });

  for (const [line, key] of [
    ['backup.intervalMs=abc', 'backup.intervalMs'],
    ['backup.intervalMs=-5', 'backup.intervalMs'],
    ['backup.archiveIntervalMs=0', 'backup.archiveIntervalMs'],
    ['backup.retainCount=many', 'backup.retainCount'],
    ['backup.retainHours=-1', 'backup.retainHours'],
    ['backup.retainHours=1h', 'backup.retainHours'],
    ['preAllocSize=64M', 'preAllocSize'],
    ['zookeeper.preAllocSize=0', 'zookeeper.preAllocSize'],
    ['txnLogSizeLimitInKb=lots', 'txnLogSizeLimitInKb'],
    ['commitLogCount=-1', 'commitLogCount'],
    ['commitLogCount=x', 'commitLogCount'],
    ['snapshot.compression.method=snappy', 'snapshot.compression.method'],
    ['snapshot.compression.method=zip', 'snapshot.compression.method'],
    ['fsync.warningthresholdms=1s', 'fsync.warningthresholdms'],
    ['readonlymode.enabled=yes', 'readonlymode.enabled'],
    ['zookeeper.readonlymode.enabled=1', 'zookeeper.readonlymode.enabled'],
  ] as const) {
    test(`${line} stops start-up naming ${key}`, () => {
      throwsConfigError(() => cfg(`dataDir=/d\nbackup.archiveDir=/a\n${line}`), key, key);
    });
  }

  for (const [line, key] of [
    ['backup.archiveDir=s3://Bad_Bucket/x', 'backup.archiveDir'],
    ['backup.archiveDir=s3://ok-bucket/a//b', 'backup.archiveDir'],
    ['backup.s3.endpoint=minio:9000', 'backup.s3.endpoint'],
    ['backup.s3.region=EU WEST', 'backup.s3.region'],
    ['backup.s3.forcePathStyle=yes', 'backup.s3.forcePathStyle'],
  ] as const) {
    test(`${line} stops start-up naming ${key}`, () => {
      throwsConfigError(() => cfg(`dataDir=/d\nbackup.archiveDir=s3://ok-bucket/x\n${line}`), key, key);
    });
  }

  test('readonlymode.enabled: off by default, on for an ensemble member as written or with the zookeeper. prefix', () => {
    const servers = 'server.1=h1:2888:3888\nserver.2=h2:2888:3888\nserver.3=h3:2888:3888';
    for (const line of ['readonlymode.enabled=true', 'zookeeper.readonlymode.enabled=TRUE']) {
      const { config, warnings } = cfg(`dataDir=/d\n${servers}\n${line}`);
      assert.equal(config.readOnlyModeEnabled, true, line);
      assert.ok(!warnings.some((w) => w.includes('readonlymode')), warnings.join('\n'));
    }
    assert.equal(cfg(`dataDir=/d\n${servers}\nreadonlymode.enabled=false`).config.readOnlyModeEnabled, false);
    assert.equal(classifyKey('readonlymode.enabled'), 'honoured');
  });

  test('backup.recipients splits on commas and spaces; backup.recipientsFile resolves like dataDir; both need backup.archiveDir', () => {
    const { config } = parseZooCfg('dataDir=d\nbackup.archiveDir=a\nbackup.recipients=age1x, age1y age1z\nbackup.recipientsFile=keys.txt', {
      baseDir: '/base',
    });
    assert.deepEqual(config.backup?.recipients, ['age1x', 'age1y', 'age1z']);
    assert.equal(config.backup?.recipientsFile, '/base/keys.txt');
    const { warnings } = cfg('dataDir=/d\nbackup.recipients=age1x');
    assert.ok(
      warnings.some((w) => w.startsWith('backup.recipients: ignored, backup.archiveDir is not set')),
      warnings.join('\n'),
    );
  });

  test('a setting that does not apply says so', () => {
    const { config, warnings } = cfg('dataDir=/d\nbackup.intervalMs=1000\ncommitLogCount=100\nreadonlymode.enabled=true');
    assert.equal(config.backup, null);
    assert.ok(
      warnings.some((w) => w.startsWith('backup.intervalMs: ignored, backup.archiveDir is not set')),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => w.startsWith('commitLogCount: applies to ensemble members only')),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => w.startsWith('readonlymode.enabled: applies to ensemble members only')),
      warnings.join('\n'),
    );
  });
});

describe('resolveConfig: client TLS (secureClientPort, client.portUnification, ssl.*)', () => {
  test('defaults: need, TLSv1.2 and TLSv1.3, ZooKeeper 3.9 cipher suites; type from the extension', () => {
    const { config, warnings } = cfg(
      'dataDir=/d\nsecureClientPort=2281\nssl.keyStore.location=/k/server.pem\nzookeeper.ssl.trustStore.location=/k/trust.P12',
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.secureClientPort, 2281);
    assert.equal(config.clientPort, undefined);
    assert.equal(config.portUnification, false);
    const tls = config.clientTls;
    assert.ok(tls);
    assert.equal(tls.keyStore.type, 'PEM');
    assert.equal(tls.trustStore?.type, 'PKCS12');
    assert.equal(tls.trustStore?.key, 'zookeeper.ssl.trustStore.location');
    assert.equal(tls.clientAuth, 'need');
    assert.equal(tls.minVersion, 'TLSv1.2');
    assert.equal(tls.maxVersion, 'TLSv1.3');
    assert.ok(tls.ciphers.startsWith('ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:'), tls.ciphers);
    assert.ok(tls.ciphers.endsWith(':TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'), tls.ciphers);
  });

  test('explicit values: protocol, enabledProtocols, ciphersuites, clientAuth, types', () => {
    const base = 'dataDir=/d\nclientPort=2181\nclient.portUnification=true\nssl.keyStore.location=/k/ks\nssl.keyStore.type=pkcs12\n';
    const c = cfg(
      `${base}ssl.protocol=TLSv1.3\nssl.clientAuth=WANT\nssl.ciphersuites=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_AES_256_GCM_SHA384`,
    ).config;
    assert.equal(c.portUnification, true);
    assert.equal(c.clientTls?.keyStore.type, 'PKCS12');
    assert.equal(c.clientTls?.clientAuth, 'want');
    assert.deepEqual([c.clientTls?.minVersion, c.clientTls?.maxVersion], ['TLSv1.3', 'TLSv1.3']);
    assert.equal(c.clientTls?.ciphers, 'ECDHE-RSA-AES256-GCM-SHA384:TLS_AES_256_GCM_SHA384');
    const e = cfg(`${base}ssl.protocol=TLSv1.3\nssl.enabledProtocols=TLSv1.2`).config;
    assert.deepEqual([e.clientTls?.minVersion, e.clientTls?.maxVersion], ['TLSv1.2', 'TLSv1.2']);
  });

  test('ssl.handshakeDetectionTimeoutMillis: default 5000, honoured, below 1 the default with a warning (X509Util)', () => {
    const base = 'dataDir=/d\nsecureClientPort=2281\nssl.keyStore.location=/k/s.pem\nssl.trustStore.location=/k/t.pem\n';
    assert.equal(cfg(base).config.clientTls?.handshakeTimeoutMs, 5000);
    const set = cfg(`${base}zookeeper.ssl.handshakeDetectionTimeoutMillis=1500`);
    assert.deepEqual(set.warnings, []);
    assert.equal(set.config.clientTls?.handshakeTimeoutMs, 1500);
    const zero = cfg(`${base}ssl.handshakeDetectionTimeoutMillis=-3`);
    assert.equal(zero.config.clientTls?.handshakeTimeoutMs, 5000);
    assert.match(zero.warnings.join('\n'), /ssl\.handshakeDetectionTimeoutMillis=-3: below 1 ms/);
  });

  test('without a secure port nor port unification the ssl keys are only warned about', () => {
    const { config, warnings } = cfg('dataDir=/d\nssl.keyStore.location=/k/x.jks\nzookeeper.ssl.protocol=SSLv3');
    assert.equal(config.clientTls, null);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] ?? '', /^ssl\.keyStore\.location: no secureClientPort/);
    assert.match(warnings[1] ?? '', /^zookeeper\.ssl\.protocol: no secureClientPort/);
  });

  test('bad values stop start-up naming the key', () => {
    const base = 'dataDir=/d\nsecureClientPort=2281\n';
    throwsConfigError(() => cfg('dataDir=/d\nsecureClientPortAddress=127.0.0.1'), 'secureClientPortAddress', '127.0.0.1');
    throwsConfigError(() => cfg(`${base.replace('2281', 'x')}`), 'secureClientPort', 'x');
    throwsConfigError(() => cfg(base), 'ssl.keyStore.location', 'must name');
    throwsConfigError(() => cfg(`${base}ssl.keyStore.location=/k/server.jks`), 'ssl.keyStore.location', '-deststoretype PKCS12');
    throwsConfigError(
      () => cfg(`${base}ssl.keyStore.location=/k/s\nssl.keyStore.type=JKS`),
      'ssl.keyStore.type',
      'keytool -importkeystore',
    );
    throwsConfigError(() => cfg(`${base}ssl.keyStore.location=/k/server.crt`), 'ssl.keyStore.type', 'extension');
    throwsConfigError(() => cfg(`${base}ssl.keyStore.location=/k/s.pem\nssl.keyStore.type=DER`), 'ssl.keyStore.type', 'DER');
    throwsConfigError(() => cfg(`${base}ssl.keyStore.location=/k/s.pem\nssl.clientAuth=sometimes`), 'ssl.clientAuth', 'sometimes');
    throwsConfigError(() => cfg(`${base}ssl.keyStore.location=/k/s.pem\nssl.protocol=TLSv1.1`), 'ssl.protocol', 'TLSv1.1');
    throwsConfigError(
      () => cfg(`${base}ssl.keyStore.location=/k/s.pem\nssl.enabledProtocols=TLSv1.2,SSLv3`),
      'ssl.enabledProtocols',
      'SSLv3',
    );
    throwsConfigError(
      () => cfg(`${base}ssl.keyStore.location=/k/s.pem\nssl.ciphersuites=TLS_RSA_WITH_3DES_EDE_CBC_SHA`),
      'ssl.ciphersuites',
      '3DES',
    );
    throwsConfigError(
      () => cfg(`${base}ssl.keyStore.location=/k/s.pem\nssl.hostnameVerification=maybe`),
      'ssl.hostnameVerification',
      'maybe',
    );
    throwsConfigError(() => cfg('dataDir=/d\nclient.portUnification=yes'), 'client.portUnification', 'yes');
    throwsConfigError(() => cfg(`${base}ssl.keyStore.location=/k/s.pem\nzookeeper.ssl.crl=true`), 'zookeeper.ssl.crl', 'revocation');
    throwsConfigError(() => cfg(`${base}ssl.keyStore.location=/k/s.pem\nssl.ocsp=TRUE`), 'ssl.ocsp', 'revocation');
    throwsConfigError(
      () => cfg(`${base}ssl.keyStore.location=/k/s.pem\nssl.context.supplier.class=a.B`),
      'ssl.context.supplier.class',
      'Java',
    );
  });

  test('ssl.*.passwordPath names the password file, and messages name that key', () => {
    const c = cfg(
      'dataDir=/d\nsecureClientPort=2281\nssl.keyStore.location=/k/s.p12\nssl.keyStore.password=x\nssl.keyStore.passwordPath=/k/pw',
    ).config;
    assert.equal(c.clientTls?.keyStore.passwordPath, '/k/pw');
    assert.equal(c.clientTls?.keyStore.passwordKey, 'ssl.keyStore.passwordPath');
    assert.equal(
      cfg('dataDir=/d\nsecureClientPort=2281\nssl.keyStore.location=/k/s.p12').config.clientTls?.keyStore.passwordKey,
      'ssl.keyStore.password',
    );
  });
});

test('localSessionsEnabled=true and reconfigEnabled=true are read but not acted on: start-up says so', () => {
  const { warnings } = parseZooCfg('dataDir=/tmp/x\nclientPort=2181\nlocalSessionsEnabled=true\nreconfigEnabled=true\n');
  assert.ok(
    warnings.some((w) => w.startsWith('localSessionsEnabled=true: not acted on')),
    warnings.join('\n'),
  );
  assert.ok(
    warnings.some((w) => w.startsWith('reconfigEnabled=true: not acted on')),
    warnings.join('\n'),
  );
  assert.deepEqual(parseZooCfg('dataDir=/tmp/x\nclientPort=2181\nlocalSessionsEnabled=false\n').warnings, []);
});
