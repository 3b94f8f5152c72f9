// The archive's chain of links, as pure data: which links exist, in what order, where the chain
// ends, where it jumps and which jumps are filled. Shared by the archiver's view, the archive
// readers (list, point-in-time restore, retention) and the simulator.
//
// A link is an object in txns/ named after the position it continues:
//   txns.start        the chain's first link (written only while the archive has no link)
//   txns.<zxid>       the link continuing the txn (or base) at zxid
//   fill.<zxid>       the first link of a fill: the txns a jump at zxid skipped
// and is either a chunk of committed txns (prev, first..last) or a jump (from prev to a base
// backup at `last`: no member held the txns in between, or a restore replaced the history).
// Names are created exclusively, so every position has at most one successor: two members that
// extend the chain from the same place race for one name, and a member with a stale view tries a
// name that exists. No txn is therefore archived twice, whoever writes.
import { isEpochStart } from '../util/zxid.js';

export interface Link {
  /** its name in txns/ */
  name: string;
  /** the zxid of the txn (or base) it continues */
  prev: number;
  /** a chunk's first and last txn; a jump's target base (first = last) */
  first: number;
  last: number;
  /** txns in a chunk; 0 for a jump */
  count: number;
  firstTime: number;
  lastTime: number;
  /** the crc32 field of a chunk's last record, proving which history it is (null: a jump holds no record) */
  lastCrc: number | null;
}

export const START_LINK = 'txns.start';

const hex16 = (z: number): string => z.toString(16).padStart(16, '0');

/** The name of the link continuing `prev` (a fill's first link when `fill`). */
export function linkName(prev: number, fill = false): string {
  return `${fill ? 'fill' : 'txns'}.${hex16(prev)}`;
}

/** Is this a name of a link (and which)? */
export function parseLinkName(name: string): { kind: 'start' } | { kind: 'next' | 'fill'; prev: number } | null {
  if (name === START_LINK) return { kind: 'start' };
  const m = /^(txns|fill)\.([0-9a-f]{16})$/.exec(name);
  return m ? { kind: m[1] === 'fill' ? 'fill' : 'next', prev: parseInt(m[2]!, 16) } : null;
}

export function isJump(l: Link): boolean {
  return l.count === 0;
}

/** Restores start a new history at a snapshot whose zxid has counter 0 (restore.ts, the online restores). */
export function isRestoreBase(zxid: number): boolean {
  return isEpochStart(zxid);
}

/** A jump the chain made, and how far a fill has closed it. */
export interface Jump {
  link: Link;
  /** the last txn before the jump, and the base it jumped to */
  from: number;
  to: number;
  /** a restore replaced the history: nothing to fill */
  restore: boolean;
  /** the fill's links so far (each continuing the one before, from `from`, ending at or before `to`) */
  fill: Link[];
  /** where the fill stands: `to` when complete */
  filledTo: number;
}

export interface Chain {
  /** the links from the chain's first, in order (jumps included, fills not) */
  links: Link[];
  /** the zxid where the chain ends (its last link's last), null when it has no link */
  end: number | null;
  jumps: Jump[];
  /** links missing from the chain (deleted or lost): the one continuing `after` up to `before` */
  breaks: Array<{ after: number; before: number }>;
  /** links on no path of the chain (left by a writer whose view was stale; never read) */
  unlinked: Link[];
}

/** The links from `from` on, each the one named after the last's end (`byName`: the links by name). */
function walkFrom(from: Link, byName: ReadonlyMap<string, Link>): Link[] {
  const out = [from];
  const seen = new Set([from]);
  for (let next = byName.get(linkName(from.last)); next && !seen.has(next); next = byName.get(linkName(next.last))) {
    out.push(next);
    seen.add(next);
  }
  return out;
}

/**
 * The links a fill leads to: its second link on (`txns.<x>`, continuing the fill's first) and
 * whatever follows them. No other link continues a fill's second link, so without this it would
 * look like a chain's first link and start a walk of its own.
 */
function reachedByFills(all: readonly Link[], byName: ReadonlyMap<string, Link>): Set<Link> {
  const reached = new Set<Link>();
  for (const f of all) {
    if (!f.name.startsWith('fill.')) continue;
    for (let n = byName.get(linkName(f.last)); n && !reached.has(n); n = byName.get(linkName(n.last))) reached.add(n);
  }
  return reached;
}

/**
 * Walks the links from the chain's start. Each link no other one leads to starts a walk; the walk
 * that reaches furthest is the chain's end, and walks ending before it (in order, without
 * overlap) are its earlier parts, with a break between two parts where a link is missing. The
 * first part starts at txns.start, or at the oldest link retention kept. Anything else is unlinked.
 * The result does not depend on the order the links are listed in (a directory lists them in
 * hash order): a walk starting inside a fill is taken only when no other walk reaches as far
 * (retention removed the jump the fill belongs to) and never as an earlier part, and walks ending
 * at the same place are taken earliest start first.
 */
export function buildChain(all: readonly Link[]): Chain {
  const byName = new Map(all.map((l) => [l.name, l]));
  const fillNames = new Set<string>();
  const chunksAndJumps = all.filter((l) => !l.name.startsWith('fill.'));
  const continued = new Set(chunksAndJumps.map((l) => linkName(l.last)));
  const inFill = reachedByFills(all, byName);
  const walks = chunksAndJumps
    .filter((l) => !continued.has(l.name))
    .map((l) => ({ links: walkFrom(l, byName), inFill: inFill.has(l) }))
    .sort(
      (a, b) =>
        b.links.at(-1)!.last - a.links.at(-1)!.last ||
        Number(a.inFill) - Number(b.inFill) ||
        a.links[0]!.prev - b.links[0]!.prev ||
        (a.links[0]!.name < b.links[0]!.name ? -1 : 1),
    );
  const parts: Link[][] = [];
  for (const w of walks) {
    const next = parts.at(-1);
    if (!next || (!w.inFill && w.links.at(-1)!.last <= next[0]!.prev)) parts.push(w.links);
  }
  parts.reverse();
  const best = parts.flat();
  const breaks: Chain['breaks'] = [];
  for (let i = 1; i < parts.length; i++) breaks.push({ after: parts[i - 1]!.at(-1)!.last, before: parts[i]![0]!.prev });
  const jumps: Jump[] = [];
  for (const link of best) {
    if (!isJump(link)) continue;
    const j: Jump = { link, from: link.prev, to: link.last, restore: isRestoreBase(link.last), fill: [], filledTo: link.prev };
    if (!j.restore) {
      for (
        let f = byName.get(linkName(link.prev, true));
        f && !isJump(f) && f.prev === j.filledTo && f.last <= j.to;
        f = byName.get(linkName(f.last))
      ) {
        j.fill.push(f);
        fillNames.add(f.name);
        j.filledTo = f.last;
        if (f.last === j.to) break;
      }
    }
    jumps.push(j);
  }
  const inChain = new Set([...best.map((l) => l.name), ...fillNames]);
  return { links: best, end: best.at(-1)?.last ?? null, jumps, breaks, unlinked: all.filter((l) => !inChain.has(l.name)) };
}

/** A stretch of txns the chain holds without a break: the links (fills spliced in) from `prev` to `last`. */
export interface Run {
  prev: number;
  first: number;
  last: number;
  firstTime: number;
  lastTime: number;
  links: Link[];
}

/** The chain as stretches of txns: a filled jump joins its two sides; any other jump starts a new stretch at its base. */
export function runsOf(chain: Chain): Run[] {
  const runs: Run[] = [];
  const fills = new Map(chain.jumps.map((j) => [j.link, j]));
  let cur: Run | null = null;
  const add = (l: Link): void => {
    if (cur && cur.last === l.prev) {
      cur.links.push(l);
      cur.last = l.last;
      cur.lastTime = l.lastTime;
    } else {
      cur = { prev: l.prev, first: l.first, last: l.last, firstTime: l.firstTime, lastTime: l.lastTime, links: [l] };
      runs.push(cur);
    }
  };
  for (const l of chain.links) {
    if (!isJump(l)) {
      add(l);
      continue;
    }
    const j = fills.get(l)!;
    for (const f of j.fill) add(f);
    // not filled up to the base: the stretch after the jump starts at the base
    if (j.filledTo !== j.to) cur = null;
  }
  return runs;
}
