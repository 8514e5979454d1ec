/**
 * The ring shared by HashRing and BoundedLoadRing (not exported from the block).
 *
 * Layout: the points of every node sit in one sorted `Uint32Array` of positions, with a parallel typed array
 * holding each point's owner as the owner's rank (its index in id order). A lookup hashes the key, binary
 * searches the positions and reads one owner: no allocation, no BigInt. A small index of where each range of
 * positions starts (about one entry per four points) narrows the binary search to a handful of points, so a
 * lookup touches a few cache lines instead of ~17 on a 160,000-point ring.
 *
 * Two points may land on the same 32-bit position (a 1,000 × 160 ring expects a few such collisions). Both
 * are kept, ordered by owner rank, so the lower id wins the position and the other takes over if that node
 * leaves. The ring is therefore a function of the node set alone, whatever the order nodes were added in.
 */
import { xxh32 } from '../core/index.js';
import { invalid } from '../core/validation.js';
import { compareIds, type ParsedNode } from './internal.js';
import type { ShardKey } from './types.js';

/** Most points a ring may hold: 16 Mi points, 96 MiB of typed arrays. */
export const MAX_RING_POINTS = 1 << 24;
/** Most virtual nodes per unit of weight. */
export const MAX_VIRTUAL_NODES = 1 << 16;
/** Ranks are packed next to positions in one float64 while sorting: 2^32 · 2^21 stays below 2^53. */
const RANK_SPACE = 2 ** 21;
/** Most nodes a ring may hold (ranks must fit the packing above). */
export const MAX_RING_NODES = RANK_SPACE - 1;

/** The point owners' array: 16-bit ranks while they fit, else 32-bit. */
type Owners = Uint16Array | Uint32Array;

function ownersFor(nodeCount: number, length: number): Owners {
  return nodeCount <= 0x10000 ? new Uint16Array(length) : new Uint32Array(length);
}

/** Number of points a node of `weight` gets on a ring of `virtualNodes` points per unit of weight. */
export function pointCount(virtualNodes: number, weight: number): number {
  return Math.round(virtualNodes * weight);
}

/** The sorted positions of a node's points: xxh32 of `id#i`. */
function hashPoints(id: string, count: number): Uint32Array {
  const points = new Uint32Array(count);
  for (let i = 0; i < count; i++) points[i] = xxh32(`${id}#${i}`);
  return points.sort();
}

/** The ring position of a key. */
export function keyPosition(key: ShardKey): number {
  return xxh32(key);
}

/** A mutable ring of weighted nodes. Callers validate; this class assumes valid input. */
export class RingCore {
  readonly virtualNodes: number;
  /** Sorted point positions. */
  positions!: Uint32Array;
  /** Owner rank of each point. */
  owners!: Owners;
  /** `index[b]` is the first point at or after position `b << shift`; one more entry holds the length. */
  #index!: Uint32Array;
  #shift = 32;
  /** Node ids by rank (sorted). */
  readonly ids: string[];
  /** Weights by rank. */
  readonly weights: number[];
  /** Rank of each id. */
  readonly ranks: Map<string, number>;
  /** Ids in the order they were added. */
  readonly order: string[];

  private constructor(
    virtualNodes: number,
    positions: Uint32Array,
    owners: Owners,
    ids: string[],
    weights: number[],
    order: string[],
  ) {
    this.virtualNodes = virtualNodes;
    this.#install(positions, owners);
    this.ids = ids;
    this.weights = weights;
    this.order = order;
    this.ranks = new Map(ids.map((id, rank) => [id, rank]));
  }

  /** Builds a ring from validated, distinct nodes in one sort. */
  static build(nodes: readonly ParsedNode[], virtualNodes: number): RingCore {
    const sorted = [...nodes].sort((a, b) => compareIds(a.id, b.id));
    let total = 0;
    for (const node of sorted) total += pointCount(virtualNodes, node.weight);
    // Pack (position, rank) into one float64 so a single numeric sort orders by position, then by rank.
    const packed = new Float64Array(total);
    let k = 0;
    for (let rank = 0; rank < sorted.length; rank++) {
      const node = sorted[rank] as ParsedNode;
      const count = pointCount(virtualNodes, node.weight);
      for (let i = 0; i < count; i++) packed[k++] = xxh32(`${node.id}#${i}`) * RANK_SPACE + rank;
    }
    packed.sort();
    const positions = new Uint32Array(total);
    const owners = ownersFor(sorted.length, total);
    for (let i = 0; i < total; i++) {
      const value = packed[i] as number;
      const position = Math.floor(value / RANK_SPACE);
      positions[i] = position;
      owners[i] = value - position * RANK_SPACE;
    }
    return new RingCore(
      virtualNodes,
      positions,
      owners,
      sorted.map((n) => n.id),
      sorted.map((n) => n.weight),
      nodes.map((n) => n.id),
    );
  }

  /** An independent copy. */
  clone(): RingCore {
    return new RingCore(
      this.virtualNodes,
      this.positions.slice(),
      this.owners.slice(),
      [...this.ids],
      [...this.weights],
      [...this.order],
    );
  }

  /** Number of nodes. */
  get size(): number {
    return this.ids.length;
  }

  /** Number of points. */
  get length(): number {
    return this.positions.length;
  }

  /** Index of the first point at or after `position`, wrapping to 0 past the last point. */
  find(position: number): number {
    const positions = this.positions;
    const bucket = position >>> this.#shift;
    let lo = this.#index[bucket] as number;
    let hi = this.#index[bucket + 1] as number;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((positions[mid] as number) < position) lo = mid + 1;
      else hi = mid;
    }
    return lo === positions.length ? 0 : lo;
  }

  /** Sets the point arrays and rebuilds the range index over them. */
  #install(positions: Uint32Array, owners: Owners): void {
    this.positions = positions;
    this.owners = owners;
    // 2^bits ≤ points / 4 buckets (at least 2): about 1 byte per point, a few points per bucket.
    const bits = positions.length >= 16 ? Math.min(16, Math.floor(Math.log2(positions.length / 4))) : 1;
    const shift = 32 - bits;
    const buckets = 1 << bits;
    const index = new Uint32Array(buckets + 1);
    let i = 0;
    for (let b = 0; b < buckets; b++) {
      const start = b * 2 ** shift;
      while (i < positions.length && (positions[i] as number) < start) i++;
      index[b] = i;
    }
    index[buckets] = positions.length;
    this.#index = index;
    this.#shift = shift;
  }

  /** Total points the ring would hold after adding a node of `weight`. */
  pointsAfterAdding(weight: number): number {
    return this.positions.length + pointCount(this.virtualNodes, weight);
  }

  /** Adds a validated node that is not on the ring yet: a linear merge of its points into the ring. */
  add(node: ParsedNode): void {
    const { id, weight } = node;
    // Rank of the new id; ranks at or above it move up by one.
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ids[mid] as string) < id) lo = mid + 1;
      else hi = mid;
    }
    const rank = lo;
    const fresh = hashPoints(id, pointCount(this.virtualNodes, weight));
    const old = this.positions;
    const oldOwners = this.owners;
    const length = old.length + fresh.length;
    const positions = new Uint32Array(length);
    const owners = ownersFor(this.ids.length + 1, length);
    let i = 0;
    let j = 0;
    for (let k = 0; k < length; k++) {
      if (i < old.length) {
        const p = old[i] as number;
        const raw = oldOwners[i] as number;
        const owner = raw >= rank ? raw + 1 : raw;
        // On equal positions the lower rank comes first; `owner` never equals `rank`.
        if (j >= fresh.length || p < (fresh[j] as number) || (p === fresh[j] && owner < rank)) {
          positions[k] = p;
          owners[k] = owner;
          i++;
          continue;
        }
      }
      positions[k] = fresh[j] as number;
      owners[k] = rank;
      j++;
    }
    this.#install(positions, owners);
    this.ids.splice(rank, 0, id);
    this.weights.splice(rank, 0, weight);
    this.order.push(id);
    this.#reindex(rank);
  }

  /** Removes a node known to be on the ring: its points are dropped, nothing else moves. */
  remove(id: string): void {
    const rank = this.ranks.get(id) as number;
    const old = this.positions;
    const oldOwners = this.owners;
    let kept = 0;
    for (let i = 0; i < oldOwners.length; i++) if (oldOwners[i] !== rank) kept++;
    const positions = new Uint32Array(kept);
    const owners = ownersFor(this.ids.length - 1, kept);
    let k = 0;
    for (let i = 0; i < old.length; i++) {
      const owner = oldOwners[i] as number;
      if (owner === rank) continue;
      positions[k] = old[i] as number;
      owners[k] = owner > rank ? owner - 1 : owner;
      k++;
    }
    this.#install(positions, owners);
    this.ids.splice(rank, 1);
    this.weights.splice(rank, 1);
    this.order.splice(this.order.indexOf(id), 1);
    this.ranks.delete(id);
    this.#reindex(rank);
  }

  #reindex(from: number): void {
    for (let r = from; r < this.ids.length; r++) this.ranks.set(this.ids[r] as string, r);
  }
}

/**
 * Distinct-owner walks need a "seen" mark per node; a stamp array with an epoch avoids clearing it per call.
 */
export class OwnerStamps {
  #stamps = new Uint32Array(0);
  #epoch = 0;

  /** Starts a walk over `size` nodes; returns the epoch that marks a node as seen during this walk. */
  begin(size: number): Uint32Array {
    if (this.#stamps.length < size) this.#stamps = new Uint32Array(Math.max(size, this.#stamps.length * 2));
    if (this.#epoch === 0xffffffff) {
      this.#stamps.fill(0);
      this.#epoch = 0;
    }
    this.#epoch++;
    return this.#stamps;
  }

  /** The epoch of the current walk. */
  get epoch(): number {
    return this.#epoch;
  }
}

/** Validates `virtualNodes`. */
export function checkVirtualNodes(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > MAX_VIRTUAL_NODES) {
    invalid(argument, `a positive integer <= ${MAX_VIRTUAL_NODES}`, value);
  }
}

/**
 * Validates that a node of `weight` gets at least one point and that the ring stays within its bounds once
 * it holds `totalPoints` points and `nodeCount` nodes.
 */
export function checkRingRoom(
  node: unknown,
  virtualNodes: number,
  weight: number,
  totalPoints: number,
  nodeCount: number,
  argument: string,
): void {
  if (pointCount(virtualNodes, weight) < 1) {
    invalid(
      typeof node === 'string' ? argument : `${argument}.weight`,
      `a weight of at least ${0.5 / virtualNodes} (weight × ${virtualNodes} virtual nodes must round to >= 1 point)`,
      weight,
    );
  }
  if (!(totalPoints <= MAX_RING_POINTS)) {
    invalid(
      argument,
      `a node that keeps the ring within ${MAX_RING_POINTS} points (it would hold ${totalPoints})`,
      node,
    );
  }
  if (nodeCount > MAX_RING_NODES) invalid(argument, `a node that keeps the ring within ${MAX_RING_NODES} nodes`, node);
}
