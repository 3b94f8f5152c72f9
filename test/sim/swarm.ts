// Swarm testing (reliability.md §2.2, TigerBeetle `options_swarm`): every seed draws its own fault
// parameters, printed on one line, so a fleet of seeds covers many fault mixes and a failing seed
// says which mix it ran. Partition shapes follow Jepsen's nemeses (§1.5).
//
// Rates: partitionP, partitionHealP, crashP and restartP are probabilities per *swarm step* of
// SWARM_STEP_MS simulated milliseconds: the harness rolls each once every SWARM_STEP_MS. A harness
// that decides at another cadence converts with rescaleP(p, itsStepMs).

import type { NetworkOptions } from './network.js';
import type { Rng } from './rng.js';

/** Simulated milliseconds per swarm step (the cadence the per-step probabilities refer to). */
export const SWARM_STEP_MS = 10;

export type PartitionMode = 'isolate_one' | 'isolate_leader' | 'majority_minority' | 'bridge' | 'ring' | 'one_way' | 'random_halves';

export const PARTITION_MODES: readonly PartitionMode[] = [
  'isolate_one',
  'isolate_leader',
  'majority_minority',
  'bridge',
  'ring',
  'one_way',
  'random_halves',
];

export interface SwarmOptions {
  /** voting members */
  nodes: number;
  /** non-voting learners */
  observers: number;
  network: NetworkOptions;
  /** per step chance to start a partition (while none is in force) */
  partitionP: number;
  /** per step chance to heal the partition in force */
  partitionHealP: number;
  /** shapes a new partition is drawn from (non-empty) */
  partitionModes: PartitionMode[];
  /** chance that a new group partition blocks only one direction of each cut pair (asymmetricLinks) */
  asymmetricP: number;
  /** per step chance to crash a random node */
  crashP: number;
  /** per step chance to restart a crashed node (per crashed node) */
  restartP: number;
  /** on crash, chance that the last unsynced batch is partly persisted */
  tornWriteP: number;
  /** an fsync completes uniformly in [min, max] ms after it is issued */
  fsyncDelayMinMs: number;
  fsyncDelayMaxMs: number;
  /** largest clock step (jump) of one node's local clock, in ms; 0 = no clock faults */
  clockStepMs: number;
  clients: number;
  opsPerClient: number;
  /** safety phase: faults on (default 20,000 simulated ms) */
  faultPhaseMs: number;
  /** liveness phase: faults off, network healed, a quorum must converge (default 10,000 ms) */
  livenessPhaseMs: number;
  /** readonlymode.enabled on every member: one looking for the grace period serves read-only clients */
  readOnlyMode: boolean;
}

/** A partition shape: groups for SimNetwork.partition and/or directed links for blockLinks. */
export interface PartitionShape {
  groups?: number[][];
  /** directed links to block */
  links?: Array<[number, number]>;
}

/** Convert a per-SWARM_STEP_MS probability to one per `stepMs` (same rate in simulated time). */
export function rescaleP(p: number, stepMs: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return 1 - (1 - p) ** (stepMs / SWARM_STEP_MS);
}

/**
 * Draw one seed's options. Every draw happens, in a fixed order, whatever `overrides` holds, so an
 * override changes only the overridden field. Event rates are derived from the final
 * faultPhaseMs, so a shorter or longer fault phase still sees a handful of partitions and crashes.
 */
export function drawSwarm(rng: Rng, overrides?: Partial<SwarmOptions>): SwarmOptions {
  // Topology and workload.
  const nodes = rng.bool(0.75) ? 3 : 5;
  const observers = rng.bool(0.6) ? 0 : 1;
  const clients = rng.range(2, 5);
  const opsPerClient = rng.range(20, 200);

  // Network.
  const delayMinMs = rng.range(0, 2);
  const delayMeanMs = rng.range(Math.max(1, delayMinMs), 20);
  const lossP = rng.bool(0.2) ? 0 : rng.next() * 0.2;
  const duplicateP = rng.bool(0.3) ? 0 : rng.next() * 0.2;
  const reorder = rng.bool(0.3);

  // Partitions: ~15% of seeds have none; otherwise 2-12 expected starts per fault phase, each
  // lasting 200-3000 ms on average.
  const partitionsOn = !rng.bool(0.15);
  const partitionsPerPhase = rng.range(2, 12);
  const partitionMeanMs = rng.range(200, 3000);
  const partitionModes = PARTITION_MODES.filter(() => rng.bool(0.5));
  const fallbackMode = rng.pick(PARTITION_MODES);
  if (partitionModes.length === 0) partitionModes.push(fallbackMode);
  const asymmetricP = rng.bool(0.5) ? 0 : rng.next() * 0.5;

  // Crashes: 1-8 expected per fault phase, down for 50-3000 ms on average.
  const crashesPerPhase = rng.range(1, 8);
  const downMeanMs = rng.range(50, 3000);
  const tornWriteP = rng.bool(0.3) ? 0 : rng.next();

  // Disk and clock.
  const fsyncDelayMinMs = rng.range(0, 5);
  const fsyncDelayMaxMs = rng.range(fsyncDelayMinMs, 5);
  const clockStepMs = rng.bool(0.5) ? 0 : rng.range(10, 2000);

  // drawn last, so that the draws above stay what they were for every seed
  const readOnlyMode = rng.bool(0.5);

  const faultPhaseMs = overrides?.faultPhaseMs ?? 20_000;
  const steps = Math.max(1, faultPhaseMs / SWARM_STEP_MS);
  const perStep = (meanMs: number): number => Math.min(1, SWARM_STEP_MS / meanMs);

  const out: SwarmOptions = {
    nodes,
    observers,
    network: { delayMinMs, delayMeanMs, lossP, duplicateP, reorder },
    partitionP: partitionsOn ? Math.min(1, partitionsPerPhase / steps) : 0,
    partitionHealP: perStep(partitionMeanMs),
    partitionModes,
    asymmetricP,
    crashP: Math.min(1, crashesPerPhase / steps),
    restartP: perStep(downMeanMs),
    tornWriteP,
    fsyncDelayMinMs,
    fsyncDelayMaxMs,
    clockStepMs,
    clients,
    opsPerClient,
    faultPhaseMs,
    livenessPhaseMs: 10_000,
    readOnlyMode,
  };
  if (overrides !== undefined) {
    for (const [k, v] of Object.entries(overrides)) {
      if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

function fmtP(p: number): string {
  if (p === 0) return '0';
  if (p >= 0.01) return p.toFixed(3);
  return p.toPrecision(2);
}

function pct(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

/** One compact line, e.g. for the first line of a seed's log. */
export function describeSwarm(o: SwarmOptions): string {
  const n = o.network;
  return [
    `nodes=${o.nodes}+${o.observers}obs`,
    `clients=${o.clients}x${o.opsPerClient}`,
    `net[delay=${n.delayMinMs}..mean${n.delayMeanMs}ms loss=${pct(n.lossP)} dup=${pct(n.duplicateP)} ${n.reorder ? 'reorder' : 'fifo'}]`,
    `part[p=${fmtP(o.partitionP)} heal=${fmtP(o.partitionHealP)} asym=${fmtP(o.asymmetricP)} modes=${o.partitionModes.join(',')}]`,
    `crash=${fmtP(o.crashP)} restart=${fmtP(o.restartP)} torn=${fmtP(o.tornWriteP)}`,
    `fsync=${o.fsyncDelayMinMs}-${o.fsyncDelayMaxMs}ms clockStep=${o.clockStepMs}ms`,
    `phases=${o.faultPhaseMs}+${o.livenessPhaseMs}ms step=${SWARM_STEP_MS}ms`,
    `readOnlyMode=${o.readOnlyMode}`,
  ].join(' ');
}

/** Every ordered pair (a, b), a != b, with a in `xs` and b in `ys`. */
function cross(xs: readonly number[], ys: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const a of xs) for (const b of ys) if (a !== b) out.push([a, b]);
  return out;
}

/**
 * The partition shape for `mode` over `ids` (the nodes; leave clients out). Never shuffles `ids`.
 * - isolate_one: a random node alone | the rest.
 * - isolate_leader: the leader alone (a random node when leaderId is null or not in ids).
 * - majority_minority: a random majority | the minority.
 * - bridge: two halves that cannot see each other; one bridge node sees both (blocked links).
 * - ring: nodes on a random cycle each see only their two neighbours (blocked links; with 3 nodes
 *   everyone is a neighbour, so this cuts nothing).
 * - one_way: some directed links only: leader -> one follower, leader -> all, follower -> leader,
 *   or (no leader) a random directed set.
 * - random_halves: a random cut into two non-empty groups.
 * With fewer than two ids there is nothing to cut and the result is {}.
 */
export function partitionGroups(mode: PartitionMode, ids: number[], leaderId: number | null, rng: Rng): PartitionShape {
  if (ids.length < 2) return {};
  const shuffled = rng.shuffle([...ids]);
  const without = (x: number): number[] => ids.filter((i) => i !== x);
  switch (mode) {
    case 'isolate_one': {
      const x = rng.pick(ids);
      return { groups: [[x], without(x)] };
    }
    case 'isolate_leader': {
      const x = leaderId !== null && ids.includes(leaderId) ? leaderId : rng.pick(ids);
      return { groups: [[x], without(x)] };
    }
    case 'majority_minority': {
      const maj = Math.floor(ids.length / 2) + 1;
      return { groups: [shuffled.slice(0, maj), shuffled.slice(maj)].filter((g) => g.length > 0) };
    }
    case 'bridge': {
      const rest = shuffled.slice(1); // shuffled[0] is the bridge
      const half = Math.floor(rest.length / 2);
      const a = rest.slice(0, half);
      const b = rest.slice(half);
      return { links: [...cross(a, b), ...cross(b, a)] };
    }
    case 'ring': {
      const n = shuffled.length;
      const links: Array<[number, number]> = [];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const d = Math.abs(i - j);
          if (d === 0 || d === 1 || d === n - 1) continue;
          links.push([shuffled[i] as number, shuffled[j] as number]);
        }
      }
      return { links };
    }
    case 'one_way': {
      if (leaderId !== null && ids.includes(leaderId)) {
        const followers = without(leaderId);
        const variant = rng.int(3);
        if (variant === 0) return { links: [[leaderId, rng.pick(followers)]] };
        if (variant === 1) return { links: cross([leaderId], followers) };
        return { links: [[rng.pick(followers), leaderId]] };
      }
      const all = cross(ids, ids);
      const links = all.filter(() => rng.bool(0.25));
      if (links.length === 0) links.push(rng.pick(all));
      return { links };
    }
    case 'random_halves': {
      const cut = rng.range(1, shuffled.length - 1);
      return { groups: [shuffled.slice(0, cut), shuffled.slice(cut)] };
    }
  }
}

/**
 * The directed links among `ids` that `shape` blocks: its explicit links plus every ordered pair in
 * different groups (ids listed in no group are cut from all). Blocking these with
 * SimNetwork.blockLinks instead of calling partition() leaves ids outside `ids` (clients) alone.
 */
export function shapeToLinks(shape: PartitionShape, ids: readonly number[]): Array<[number, number]> {
  const seen = new Set<string>();
  const out: Array<[number, number]> = [];
  const add = (a: number, b: number): void => {
    const k = `${a}>${b}`;
    if (a === b || seen.has(k)) return;
    seen.add(k);
    out.push([a, b]);
  };
  for (const [a, b] of shape.links ?? []) add(a, b);
  if (shape.groups !== undefined) {
    const groupOf = new Map<number, number>();
    for (const [i, g] of shape.groups.entries()) for (const id of g) groupOf.set(id, i);
    for (const a of ids) {
      for (const b of ids) {
        const ga = groupOf.get(a);
        if (a !== b && (ga === undefined || ga !== groupOf.get(b))) add(a, b);
      }
    }
  }
  return out;
}

/**
 * Make a link set asymmetric: where both a>b and b>a are blocked, keep one random direction.
 * Links blocked in one direction only are kept. Order of the input is preserved.
 */
export function asymmetricLinks(links: ReadonlyArray<readonly [number, number]>, rng: Rng): Array<[number, number]> {
  const has = new Set(links.map(([a, b]) => `${a}>${b}`));
  const drop = new Set<string>();
  for (const [a, b] of links) {
    if (a < b && has.has(`${b}>${a}`)) drop.add(rng.bool(0.5) ? `${a}>${b}` : `${b}>${a}`);
  }
  return links.filter(([a, b]) => !drop.has(`${a}>${b}`)).map(([a, b]): [number, number] => [a, b]);
}
