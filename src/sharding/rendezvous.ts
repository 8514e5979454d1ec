/**
 * Rendezvous, or highest-random-weight, hashing (Thaler & Ravishankar 1998), weighted with logarithmic
 * scores (Schindelhauer & Schomaker 2005).
 */
import { initHashing, xxh32 } from '../core/index.js';
import { optionsObject } from '../core/validation.js';
import { DuplicateNodeError, EmptyRingError, UnknownNodeError } from './errors.js';
import { checkCount, checkKey, checkNodeId, compareIds, type ParsedNode, parseNode, parseNodes } from './internal.js';
import type { NodeInput, ReplicaRouter, ShardKey } from './types.js';

/** Seeds of the two per-node hashes; distinct from the key hash's seed 0 so a key equal to an id is not special. */
const SEED_PRIMARY = 0x9e3779b1;
const SEED_TIE = 0x85ebca77;
const TWO_POW_MINUS_32 = 2 ** -32;

/** murmur3's 32-bit finaliser: a bijection with full avalanche, mixing the key hash with a node's seed. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Options of {@link Rendezvous.create}. */
export interface RendezvousOptions {
  /** The nodes to start with: ids (weight 1) or `{ id, weight }`. @defaultValue [] */
  readonly nodes?: readonly NodeInput[];
}

/**
 * Rendezvous (highest random weight) hashing: every node scores every key and the highest score wins. A
 * node's share is proportional to its weight (logarithmic scoring, `weight / -ln(u)`), adding a node moves
 * only the keys it wins and removing one moves only its keys, and `getN` ranks all nodes for a key. No ring
 * to store, but a lookup costs one score per node: pick it for tens of nodes, not thousands.
 *
 * @example
 * ```ts
 * import { Rendezvous } from 'system-design-blocks/sharding';
 *
 * const hrw = await Rendezvous.create({ nodes: ['cache-a', 'cache-b', { id: 'cache-c', weight: 2 }] });
 * const [owner, fallback] = hrw.getN('cart:7781', 2);
 * console.log(owner === hrw.get('cart:7781'), fallback !== owner);
 * ```
 */
export class Rendezvous implements ReplicaRouter {
  /** Ids by rank (sorted), so ties always go to the same node whatever the order of addition. */
  #ids: string[];
  #weights: Float64Array;
  #seeds: Uint32Array;
  #tieSeeds: Uint32Array;
  #ranks: Map<string, number>;
  #order: string[];
  #uniform: boolean;

  private constructor(nodes: readonly ParsedNode[], order: readonly string[]) {
    const sorted = [...nodes].sort((a, b) => compareIds(a.id, b.id));
    this.#ids = sorted.map((n) => n.id);
    this.#weights = Float64Array.from(sorted, (n) => n.weight);
    this.#seeds = Uint32Array.from(sorted, (n) => xxh32(n.id, SEED_PRIMARY));
    this.#tieSeeds = Uint32Array.from(sorted, (n) => xxh32(n.id, SEED_TIE));
    this.#ranks = new Map(this.#ids.map((id, rank) => [id, rank]));
    this.#order = [...order];
    this.#uniform = sorted.every((n) => n.weight === sorted[0]?.weight);
  }

  /**
   * Creates a rendezvous router. Awaits the hash function's one-time initialisation; synchronous after.
   *
   * @param options - The nodes; validated here.
   * @throws {@link ValidationError} on a bad option; {@link DuplicateNodeError} when an id is given twice.
   * @example
   * ```ts
   * import { Rendezvous } from 'system-design-blocks/sharding';
   *
   * const hrw = await Rendezvous.create({ nodes: ['a', { id: 'b', weight: 3 }] });
   * console.log(hrw.weightOf('b')); // 3
   * ```
   */
  static async create(options?: RendezvousOptions): Promise<Rendezvous> {
    const o = optionsObject(options, 'options');
    const nodes = parseNodes(o.nodes, 'options.nodes');
    await initHashing();
    return new Rendezvous(
      nodes,
      nodes.map((n) => n.id),
    );
  }

  /** Number of nodes. */
  get size(): number {
    return this.#ids.length;
  }

  /** Score of node `rank` for key hash `k`, higher wins; equal weights compare raw hashes. */
  #score(k: number, rank: number): number {
    const h = mix(k ^ (this.#seeds[rank] as number));
    if (this.#uniform) return h;
    return (this.#weights[rank] as number) / -Math.log((h + 0.5) * TWO_POW_MINUS_32);
  }

  /** True when node `a` beats node `b` (a has the higher rank) on a score tie. */
  #winsTie(k: number, a: number, b: number): boolean {
    return mix(k ^ (this.#tieSeeds[a] as number)) > mix(k ^ (this.#tieSeeds[b] as number));
  }

  /**
   * The node with the highest score for `key`.
   *
   * @param key - A string (hashed as UTF-8) or bytes.
   * @throws {@link EmptyRingError} when there is no node; {@link ValidationError} on a bad key.
   */
  get(key: ShardKey): string {
    checkKey(key);
    const count = this.#ids.length;
    if (count === 0) throw new EmptyRingError('Rendezvous.get');
    const k = xxh32(key);
    let best = -1;
    let bestRank = 0;
    if (this.#uniform) {
      const seeds = this.#seeds;
      for (let r = 0; r < count; r++) {
        const h = mix(k ^ (seeds[r] as number));
        if (h > best || (h === best && this.#winsTie(k, r, bestRank))) {
          best = h;
          bestRank = r;
        }
      }
    } else {
      for (let r = 0; r < count; r++) {
        const s = this.#score(k, r);
        if (s > best || (s === best && this.#winsTie(k, r, bestRank))) {
          best = s;
          bestRank = r;
        }
      }
    }
    return this.#ids[bestRank] as string;
  }

  /**
   * Up to `n` distinct nodes for `key`, highest score first (fewer when there are fewer nodes). The first
   * is `get(key)`; prefix stable.
   *
   * @param key - A string (hashed as UTF-8) or bytes.
   * @param n - How many nodes, a positive integer.
   * @throws {@link EmptyRingError} when there is no node; {@link ValidationError} on a bad key or `n`.
   */
  getN(key: ShardKey, n: number): string[] {
    checkKey(key);
    checkCount(n);
    const count = this.#ids.length;
    if (count === 0) throw new EmptyRingError('Rendezvous.getN');
    const want = Math.min(n, count);
    const k = xxh32(key);
    const scores = new Float64Array(want);
    const ranks = new Uint32Array(want);
    let filled = 0;
    for (let r = 0; r < count; r++) {
      const s = this.#score(k, r);
      // Insertion into the top `want`, best first; on a tie the tie hash decides.
      let p = filled;
      while (p > 0) {
        const other = scores[p - 1] as number;
        if (s > other || (s === other && this.#winsTie(k, r, ranks[p - 1] as number))) p--;
        else break;
      }
      if (p >= want) continue;
      const end = Math.min(filled, want - 1);
      scores.copyWithin(p + 1, p, end);
      ranks.copyWithin(p + 1, p, end);
      scores[p] = s;
      ranks[p] = r;
      if (filled < want) filled++;
    }
    const result: string[] = [];
    for (let i = 0; i < want; i++) result.push(this.#ids[ranks[i] as number] as string);
    return result;
  }

  /**
   * Adds a node: it takes the keys it scores highest on, about weight / total weight of them, from every
   * node alike.
   *
   * @param node - An id (weight 1) or `{ id, weight }`.
   * @throws {@link DuplicateNodeError} when the id is there already; {@link ValidationError} on a bad node.
   */
  add(node: NodeInput): void {
    const parsed = parseNode(node, 'node');
    if (this.#ranks.has(parsed.id)) throw new DuplicateNodeError(parsed.id, 'Rendezvous.add');
    this.#rebuild([...this.#nodesList(), parsed], [...this.#order, parsed.id]);
  }

  /**
   * Removes a node: only its keys move, each to its second-highest scorer.
   *
   * @param id - The node's id.
   * @throws {@link UnknownNodeError} when no such node exists; {@link ValidationError} on a bad id.
   */
  remove(id: string): void {
    checkNodeId(id, 'id');
    if (!this.#ranks.has(id)) throw new UnknownNodeError(id, 'Rendezvous.remove');
    this.#rebuild(
      this.#nodesList().filter((n) => n.id !== id),
      this.#order.filter((o) => o !== id),
    );
  }

  /** True when `id` is one of the nodes. */
  has(id: string): boolean {
    return this.#ranks.has(id);
  }

  /** The node ids, in the order they were added. */
  nodes(): string[] {
    return [...this.#order];
  }

  /**
   * The weight `id` was added with.
   *
   * @throws {@link UnknownNodeError} when no such node exists.
   */
  weightOf(id: string): number {
    const rank = this.#ranks.get(id);
    if (rank === undefined) throw new UnknownNodeError(id, 'Rendezvous.weightOf');
    return this.#weights[rank] as number;
  }

  /** An independent copy, e.g. to compare routings before and after a change with {@link compareRouting}. */
  clone(): Rendezvous {
    return new Rendezvous(this.#nodesList(), this.#order);
  }

  #nodesList(): ParsedNode[] {
    return this.#ids.map((id, rank) => ({ id, weight: this.#weights[rank] as number }));
  }

  #rebuild(nodes: readonly ParsedNode[], order: readonly string[]): void {
    const next = new Rendezvous(nodes, order);
    this.#ids = next.#ids;
    this.#weights = next.#weights;
    this.#seeds = next.#seeds;
    this.#tieSeeds = next.#tieSeeds;
    this.#ranks = next.#ranks;
    this.#order = next.#order;
    this.#uniform = next.#uniform;
  }
}
