// The nodes of a subtree restore (Ark's own restoreSubtree request and txn, opcode 1000): what a
// backup holds of each node that a live restore keeps. Not czxid/mzxid/pzxid nor ctime/mtime: a
// live restore is one new txn, and those fields become its zxid and time (README, "Subtree
// restore", says why). Shared by the request (what the caller asks for) and the txn (what prep
// decided: the counters never below the live node's), so the two cannot drift apart.
import type { JuteReader, JuteWriter } from './jute.js';
import { readACLs, writeACLs, type ACL } from './protocol.js';

export interface SubtreeNode {
  /** the full path; parents come before their children, the subtree's root first */
  path: string;
  data: Buffer | null;
  acl: ACL[];
  version: number;
  /** the stored cversion: the count of child creates, where sequential suffixes come from */
  cversion: number;
  aversion: number;
  /** 0, a container or a TTL owner (a session's ephemerals are not restored live) */
  ephemeralOwner: bigint;
}

/** smallest encoded node: empty path, null data, no ACL, the four numbers: 4 + 4 + 4 + 12 + 8 */
const NODE_BYTES_MIN = 32;

export function writeSubtreeNodes(w: JuteWriter, nodes: readonly SubtreeNode[]): void {
  w.int(nodes.length);
  for (const n of nodes) {
    w.string(n.path).buffer(n.data);
    writeACLs(w, n.acl);
    w.int(n.version).int(n.cversion).int(n.aversion).longBig(n.ephemeralOwner);
  }
}

export function readSubtreeNodes(r: JuteReader): SubtreeNode[] {
  return (
    r.vector((rr) => {
      const path = rr.string();
      const data = rr.bufferOrNull();
      const acl = readACLs(rr) ?? [];
      return {
        path,
        data: data === null ? null : Buffer.from(data),
        acl,
        version: rr.int(),
        cversion: rr.int(),
        aversion: rr.int(),
        ephemeralOwner: rr.longBig(),
      };
    }, NODE_BYTES_MIN) ?? []
  );
}
