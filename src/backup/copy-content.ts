// What a node holds as `ark copy` compares it, data and ACL, and the grant the copier adds to a
// node whose own ACL would keep it from creating the node's children.
import { digestOf } from '../tree/acl.js';
import { Perms, type ACL, type Id } from '../wire/protocol.js';
import type { Auth } from './copy-args.js';

export interface NodeContent {
  data: Buffer | null;
  acl: ACL[];
}

/** Null data (a node created without data) is not the same as empty data. */
export function sameData(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

const aclKey = (a: ACL): string => `${a.perms}|${a.id.scheme}|${a.id.id}`;

/** The same entries, in any order. */
export function sameAcl(a: ACL[], b: ACL[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.map(aclKey).sort();
  const y = b.map(aclKey).sort();
  return x.every((k, i) => k === y[i]);
}

export function sameContent(a: NodeContent, b: NodeContent): boolean {
  return sameData(a.data, b.data) && sameAcl(a.acl, b.acl);
}

/** A digest id as getACL shows it to a client without ADMIN on the node: `user:x`. */
export const hiddenDigest = (a: ACL): boolean => a.id.scheme === 'digest' && /^[^:]*:x$/s.test(a.id.id);

/** The copier's identities (its --auth digest ids, else world:anyone) and what they may do. */
export class CopierGrant {
  private readonly digests: Id[];
  private readonly ids: Id[];

  constructor(auth: Auth[]) {
    this.digests = auth.filter((a) => a.scheme === 'digest').map((a) => ({ scheme: 'digest', id: digestOf(a.credentials) }));
    this.ids = this.digests.length > 0 ? this.digests : [{ scheme: 'world', id: 'anyone' }];
  }

  /** Whether the copier may create children under a node with this ACL. */
  mayCreateUnder(acl: ACL[]): boolean {
    return acl.some(
      (a) =>
        (a.perms & Perms.CREATE) !== 0 &&
        ((a.id.scheme === 'world' && a.id.id === 'anyone') || this.digests.some((o) => o.scheme === a.id.scheme && o.id === a.id.id)),
    );
  }

  /** The ACL with CREATE (for the children) and ADMIN (to set the exact ACL afterwards) for the copier. */
  added(acl: ACL[]): ACL[] {
    const out = acl.map((a) => ({ perms: a.perms, id: { ...a.id } }));
    for (const id of this.ids) {
      const same = out.find((a) => a.id.scheme === id.scheme && a.id.id === id.id);
      if (same) same.perms |= Perms.CREATE | Perms.ADMIN;
      else out.push({ perms: Perms.CREATE | Perms.ADMIN, id });
    }
    return out;
  }
}
