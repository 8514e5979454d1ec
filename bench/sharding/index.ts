/**
 * Sharding benchmark: our four routers against each other and against `hashring@3.2.0` (the npm peer,
 * ketama-compatible: md5, 40 × 4 = 160 points per server), for 10, 100 and 1,000 nodes.
 *
 * - lookups/s on unique keys (interleaved batches, ratios from the same run);
 * - load spread: standard deviation of keys per node as % of the mean, next to the sampling noise floor
 *   √((n-1)/K) that even a perfect router shows with K keys, and max/mean;
 * - keys moved on adding a node (× (n+1), ideal 1) and on removing one (× n), and keys that moved anywhere
 *   else than the new node / off the removed node ("stray", must be 0);
 * - memory of a 1,000-node × 160-point ring, from `process.memoryUsage` deltas around building several.
 *
 * Key sets and node names are fixed, so spreads and moves are exactly reproducible; only rates vary.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BoundedLoadRing, HashRing, JumpHash, Rendezvous } from '../../src/sharding/index.js';
import { compare } from '../lib/harness.js';
import { type Benchmark, type BenchReport, type ResultTable, type TargetCheck, target } from '../lib/types.js';

/** The part of hashring@3.2.0 we use (it ships no types). */
interface PeerRing {
  get(key: string): string | undefined;
  readonly ring: readonly { readonly value: number; readonly server: string }[];
}
const PeerHashRing = createRequire(import.meta.url)('hashring') as new (servers: string[]) => PeerRing;
const PEER = 'hashring@3.2.0';

const SIZES = [10, 100, 1000] as const;

/** A router as far as spread and moves go. */
interface Lookup {
  get(key: string): string | undefined;
}

interface Strategy {
  readonly name: string;
  /** Builds the router over `nodes`. */
  build(nodes: string[]): Promise<Lookup> | Lookup;
  /** Which node leaves in the removal test (jump hashing can only drop its last bucket). */
  readonly removeLast: boolean;
  /** Keys to route, per node count. */
  keys(n: number, quick: boolean): number;
  /** The move target: `x (n+1) <= bound` on add. */
  readonly addBound?: number;
  /** Spread checked against the sampling noise floor (routers with no per-node variance of their own). */
  readonly atNoiseFloor?: boolean;
}

const nodeIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i}`);
const keyOf = (i: number): string => `order-${i}`;

const STRATEGIES: readonly Strategy[] = [
  {
    name: 'HashRing',
    build: (nodes) => HashRing.create({ nodes }),
    removeLast: false,
    keys: (n, quick) => (quick ? 20_000 : n >= 1000 ? 4_000_000 : n >= 100 ? 2_000_000 : 1_000_000),
    addBound: 1.3,
  },
  {
    name: 'JumpHash',
    build: (nodes) => JumpHash.create({ nodes }),
    removeLast: true,
    keys: (n, quick) => (quick ? 20_000 : n >= 1000 ? 4_000_000 : n >= 100 ? 2_000_000 : 1_000_000),
    addBound: 1.05,
    atNoiseFloor: true,
  },
  {
    name: 'Rendezvous',
    build: (nodes) => Rendezvous.create({ nodes }),
    removeLast: false,
    // O(nodes) per lookup: fewer keys at 1,000 nodes, still ~2,000 moved keys per test.
    keys: (n, quick) => (quick ? (n >= 1000 ? 4_000 : 20_000) : n >= 1000 ? 2_000_000 : 1_000_000),
    addBound: 1.05,
    atNoiseFloor: true,
  },
  {
    name: PEER,
    build: (nodes) => new PeerHashRing(nodes),
    removeLast: false,
    // md5 per lookup (~8 µs): a sample large enough for its spread at 10 and 100 nodes.
    keys: (_n, quick) => (quick ? 4_000 : 200_000),
  },
];

/** Routes keys 0…count-1 and returns the index (in `ids`) of each key's node. */
function route(router: Lookup, ids: ReadonlyMap<string, number>, count: number): Uint16Array {
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = ids.get(router.get(keyOf(i)) as string) as number;
  return out;
}

function spread(routes: Uint16Array, n: number): { sdPct: number; maxOverMean: number } {
  const counts = new Float64Array(n);
  for (const r of routes) counts[r] = (counts[r] as number) + 1;
  const mean = routes.length / n;
  let sq = 0;
  let max = 0;
  for (const c of counts) {
    sq += (c - mean) ** 2;
    max = Math.max(max, c);
  }
  return { sdPct: (Math.sqrt(sq / n) / mean) * 100, maxOverMean: max / mean };
}

/** Keys whose node differs, and those among them that broke the rule (`allowed(before, after)` false). */
function moves(
  before: Uint16Array,
  after: Uint16Array,
  allowed: (from: number, to: number) => boolean,
): { moved: number; stray: number } {
  let moved = 0;
  let stray = 0;
  for (let i = 0; i < before.length; i++) {
    const from = before[i] as number;
    const to = after[i] as number;
    if (from === to) continue;
    moved++;
    if (!allowed(from, to)) stray++;
  }
  return { moved, stray };
}

/** Heap + external bytes held per object built by `build`, measured around `count` builds after full GCs. */
async function bytesPerInstance(build: () => unknown, count: number): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Array buffers are freed after the collection that finds them dead: collect until the figure settles.
  const settled = async (): Promise<number> => {
    let last = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 20; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
      const m = process.memoryUsage();
      const now = m.heapUsed + m.external;
      if (Math.abs(now - last) < 16 * 1024) return now;
      last = now;
    }
    return last;
  };
  await build(); // warm: lazily allocated shared state (the wasm module, compiled code) is not the ring's
  const before = await settled();
  const held: unknown[] = [];
  for (let i = 0; i < count; i++) held.push(await build());
  const after = await settled();
  if (held.length !== count) throw new Error('unreachable');
  return (after - before) / count;
}

export const benchmark: Benchmark = {
  name: 'sharding',
  description: `HashRing, JumpHash, Rendezvous and BoundedLoadRing vs ${PEER}: lookups/s, spread, moves, memory`,
  async run({ quick, log: print }): Promise<BenchReport> {
    const started = performance.now();
    const log = (line: string): void => print(`${((performance.now() - started) / 1000).toFixed(1)} s: ${line}`);
    const targets: TargetCheck[] = [];
    const tables: ResultTable[] = [];
    const data: Record<string, unknown> = {};

    // ── Lookups per second on unique keys ────────────────────────────────────────────────────────────
    const keys = Array.from({ length: 1 << 17 }, (_, i) => keyOf(i));
    const mask = keys.length - 1;
    const lookupRows: (string | number)[][] = [];
    for (const n of SIZES) {
      log(`lookups, ${n} nodes`);
      const nodes = nodeIds(n);
      const ring = await HashRing.create({ nodes });
      const jump = await JumpHash.create({ nodes });
      const hrw = await Rendezvous.create({ nodes });
      const bounded = await BoundedLoadRing.create({ nodes });
      const peer = new PeerHashRing(nodes);
      const window = 4096;
      let sink = 0;
      const measured = await compare(
        [
          { name: 'HashRing.get', fn: (i) => ring.get(keys[i & mask] as string) },
          { name: 'JumpHash.get', fn: (i) => jump.get(keys[i & mask] as string) },
          { name: 'Rendezvous.get', fn: (i) => hrw.get(keys[i & mask] as string) },
          {
            // Sessions churning: assign a new key, release the one assigned `window` calls ago.
            name: 'BoundedLoadRing.assign+release',
            fn: (i) => {
              bounded.assign(keys[i & mask] as string);
              if (bounded.release(keys[(i - window) & mask] as string)) sink++;
            },
          },
          // 131,072 distinct keys cycle through hashring's 5,000-entry LRU: every lookup misses it.
          { name: `${PEER} get`, fn: (i) => peer.get(keys[i & mask] as string) },
        ],
        { quick },
      );
      const rate = (name: string): number => measured.find((m) => m.name === name)?.opsPerSec ?? Number.NaN;
      const ratio = rate('HashRing.get') / rate(`${PEER} get`);
      lookupRows.push([
        n,
        rate('HashRing.get'),
        rate('JumpHash.get'),
        rate('Rendezvous.get'),
        rate('BoundedLoadRing.assign+release'),
        rate(`${PEER} get`),
        Number(ratio.toFixed(1)),
      ]);
      targets.push(target(`HashRing.get vs ${PEER} get, ${n} nodes (x)`, Number(ratio.toFixed(2)), '>=', 10));
      data[`lookups-${n}`] = { measured, sink };
    }
    tables.push({
      title: 'Lookups on unique keys (ops/s, median of interleaved batches)',
      columns: ['nodes', 'HashRing', 'JumpHash', 'Rendezvous', 'Bounded assign+release', PEER, 'HashRing ÷ peer'],
      rows: lookupRows,
    });

    // ── Spread and moves ─────────────────────────────────────────────────────────────────────────────
    const spreadRows: (string | number)[][] = [];
    const moveRows: (string | number)[][] = [];
    for (const n of SIZES) {
      const nodes = nodeIds(n);
      const added = `node-${n}`;
      const removed = nodes[Math.floor(n / 2)] as string;
      const ids = new Map([...nodes, added].map((id, i) => [id, i]));
      for (const s of STRATEGIES) {
        // Building hashring over 1,000 servers takes over a second (three builds here): full runs only.
        if (quick && s.name === PEER && n >= 1000) continue;
        const count = s.keys(n, quick);
        log(`spread and moves, ${s.name}, ${n} nodes, ${count.toLocaleString('en-US')} keys`);
        const before = route(await s.build(nodes), ids, count);
        const { sdPct, maxOverMean } = spread(before, n);
        const floorPct = Math.sqrt((n - 1) / count) * 100;
        spreadRows.push([n, s.name, count, Number(sdPct.toFixed(2)), Number(floorPct.toFixed(2)), maxOverMean]);

        const grown = route(await s.build([...nodes, added]), ids, count);
        const add = moves(before, grown, (_from, to) => to === n);
        const gone = s.removeLast ? (nodes[n - 1] as string) : removed;
        const goneIndex = ids.get(gone) as number;
        const shrunk = route(await s.build(nodes.filter((id) => id !== gone)), ids, count);
        const remove = moves(before, shrunk, (from) => from === goneIndex);
        const addX = (add.moved / count) * (n + 1);
        const removeX = (remove.moved / count) * n;
        moveRows.push([n, s.name, Number(addX.toFixed(3)), add.stray, Number(removeX.toFixed(3)), remove.stray]);

        if (s.name === 'HashRing' && n >= 100) {
          targets.push(target(`HashRing spread at 160 points, ${n} nodes (%)`, Number(sdPct.toFixed(2)), '<=', 8.7));
        }
        if (s.atNoiseFloor === true) {
          // The sample standard deviation of n counts is itself noisy: ±1/√(2(n-1)) relative; allow 3 of those.
          const bound = Number((1 + 3 / Math.sqrt(2 * (n - 1))).toFixed(3));
          targets.push(
            target(`${s.name} spread ÷ noise floor, ${n} nodes`, Number((sdPct / floorPct).toFixed(3)), '<=', bound),
          );
        }
        if (s.addBound !== undefined) {
          targets.push(target(`${s.name} moved on add × (n+1), ${n} nodes`, Number(addX.toFixed(3)), '<=', s.addBound));
          targets.push(target(`${s.name} keys moved elsewhere than the added node, ${n} nodes`, add.stray, '==', 0));
          targets.push(
            target(
              `${s.name} keys moved on remove that were not the removed node's, ${n} nodes`,
              remove.stray,
              '==',
              0,
            ),
          );
        }
      }
    }
    tables.push({
      title: 'Load spread: keys per node (std dev as % of mean; the noise floor is what a perfect router shows)',
      columns: ['nodes', 'router', 'keys', 'std dev %', 'noise floor %', 'max/mean'],
      rows: spreadRows,
    });
    tables.push({
      title: 'Keys moved: on add × (n+1) and on remove × n (ideal 1); stray = moved anywhere else (must be 0)',
      columns: ['nodes', 'router', 'add × (n+1)', 'stray on add', 'remove × n', 'stray on remove'],
      rows: moveRows,
    });

    log('bounded loads');
    // ── Bounded loads ────────────────────────────────────────────────────────────────────────────────
    const boundedRows: (string | number)[][] = [];
    for (const n of SIZES) {
      const count = quick ? 10 * n : 100 * n;
      for (const loadFactor of quick ? [1.25] : [1.1, 1.25, 2]) {
        const ring = await BoundedLoadRing.create({ nodes: nodeIds(n), loadFactor });
        for (let i = 0; i < count; i++) ring.assign(keyOf(i));
        const loads = [...ring.loads().values()];
        const mean = count / n;
        let movedOnAdd = 0;
        const subscription = ring.onMove(() => movedOnAdd++);
        ring.add(`node-${n}`);
        subscription.dispose();
        const maxOverMean = Math.max(...loads) / mean;
        boundedRows.push([n, loadFactor, count, maxOverMean, Math.ceil((loadFactor * count) / n) / mean, movedOnAdd]);
        if (loadFactor === 1.25) {
          targets.push(target(`BoundedLoadRing max/mean at c = 1.25, ${n} nodes`, maxOverMean, '<=', 1.25 + n / count));
        }
      }
    }
    tables.push({
      title: 'BoundedLoadRing: keys assigned, max load ÷ mean against the cap ÷ mean, keys shed when a node joins',
      columns: ['nodes', 'c', 'keys', 'max/mean', 'cap/mean', 'moved on add'],
      rows: boundedRows,
    });

    // ── Memory ───────────────────────────────────────────────────────────────────────────────────────
    log('memory of 1,000 × 160-point rings');
    const thousand = nodeIds(1000);
    const ringBytes = await bytesPerInstance(() => HashRing.create({ nodes: thousand }), quick ? 1 : 8);
    const sample = await HashRing.create({ nodes: thousand });
    const memoryRows: (string | number)[][] = [['HashRing', sample.points, ringBytes / 1e6, ringBytes / sample.points]];
    if (!quick) {
      const peerBytes = await bytesPerInstance(() => new PeerHashRing(thousand), 3);
      const peerPoints = new PeerHashRing(thousand).ring.length;
      memoryRows.push([PEER, peerPoints, peerBytes / 1e6, peerBytes / peerPoints]);
    }
    tables.push({
      title: 'Memory of a 1,000-node ring (heap + external bytes per ring, after GC)',
      columns: ['ring', 'points', 'MB', 'bytes/point'],
      rows: memoryRows,
    });
    targets.push(target('HashRing 1,000 × 160 memory (MB)', Number((ringBytes / 1e6).toFixed(3)), '<=', 1.5));

    return { tables, targets, data };
  },
};
