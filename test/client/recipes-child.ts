// A queue consumer in its own process, for the recipes suite's crash test: it connects, takes one
// item, prints "TOOK <id>" and then hangs until the test kills it with SIGKILL (a crash: no
// closeSession, the session lives until the server expires it). Run only by the suite, with
// arguments: <connect string with chroot> <queue path> <session timeout ms>. Without them (e.g.
// picked up by a test runner) it does nothing.
import { connect } from '../../src/index.js';
import { DistributedQueue } from '../../src/recipes/index.js';

const [connectString, queuePath, timeoutArg] = process.argv.slice(2);
if (connectString && queuePath) {
  const client = await connect(connectString, { sessionTimeoutMs: Number(timeoutArg ?? 4000), timeoutMs: 30000 });
  const queue = new DistributedQueue(client, queuePath, { consumerId: `child-${process.pid}` });
  const item = await queue.take({ timeoutMs: 30000 });
  process.stdout.write(item ? `TOOK ${item.id}\n` : 'NONE\n');
  // hang "mid-item" until killed
  setInterval(() => undefined, 1 << 30);
}
