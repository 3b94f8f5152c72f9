// A whole tree as a client sees it (data, ACL and every Stat field by path), for tests that compare
// a restored or copied tree with the one it came from.
import type { ZkClient } from '../../src/client/client.js';
import { digestOf } from '../../src/tree/acl.js';
import { Perms, type ACL, type Stat } from '../../src/wire/protocol.js';

export interface Seen {
  /** base64, or '<null>' for null data */
  data: string;
  acl: ACL[];
  stat: Stat;
}

/** Every znode under `root` (itself included), by path. */
export async function walkTree(c: ZkClient, root: string): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    const [{ data, stat }, { acl }, kids] = await Promise.all([c.getData(p), c.getACL(p), c.getChildren(p)]);
    out.set(p, { data: data === null ? '<null>' : data.toString('base64'), acl, stat });
    for (const k of kids) stack.push(p === '/' ? `/${k}` : `${p}/${k}`);
  }
  return out;
}

/** An ACL the backup tests write: alice (digest alice:pw) may do everything, anyone may read. */
export const ALICE: ACL[] = [
  { perms: Perms.ALL, id: { scheme: 'digest', id: digestOf('alice:pw') } },
  { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
];
