/**
 * Consistent hashing on a ring of virtual nodes (Karger et al. 1997, as in ketama).
 */
import { initHashing } from '../core/index.js';
import { optionsObject } from '../core/validation.js';
import { DuplicateNodeError, EmptyRingError, UnknownNodeError } from './errors.js';
import { checkCount, checkKey, checkNodeId, type ParsedNode, parseNode, parseNodes } from './internal.js';
import { checkRingRoom, checkVirtualNodes, keyPosition, OwnerStamps, pointCount, RingCore } from './ring-core.js';
import type { NodeInput, ReplicaRouter, ShardKey } from './types.js';

/** Options of {@link HashRing.create}. */
export interface HashRingOptions {
  /** The nodes to start with: ids (weight 1) or `{ id, weight }`. @defaultValue [] */
  readonly nodes?: readonly NodeInput[];
  /**
   * Points each node places on the ring per unit of weight (a positive integer ≤ 65,536). More points give
   * a more even spread (standard deviation of the load ≈ 1/√points) at the cost of memory: about 7 bytes a point.
   * @defaultValue 160
   */
  readonly virtualNodes?: number;
}

/** The default number of virtual nodes per unit of weight, as in ketama. */
const DEFAULT_VIRTUAL_NODES = 160;

/** Fills defaults and validates a ring's options: the one place that does it for HashRing and BoundedLoadRing. */
export function resolveRingOptions(
  options: HashRingOptions | undefined,
  argument: string,
): { nodes: ParsedNode[]; virtualNodes: number } {
  const o = optionsObject(options, argument);
  const virtualNodes = o.virtualNodes ?? DEFAULT_VIRTUAL_NODES;
  checkVirtualNodes(virtualNodes, `${argument}.virtualNodes`);
  const nodes = parseNodes(o.nodes, `${argument}.nodes`);
  let total = 0;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as ParsedNode;
    total += pointCount(virtualNodes, node.weight);
    checkRingRoom(o.nodes?.[i], virtualNodes, node.weight, total, i + 1, `${argument}.nodes[${i}]`);
  }
  return { nodes, virtualNodes };
}

/**
 * Consistent hashing on a ring: each node places `virtualNodes × weight` points on a 32-bit circle (xxh32 of
 * `id#i`), a key goes to the first point clockwise from its own hash. Adding a node moves only the keys it
 * takes over; removing one moves only its keys. Lookups are a hash and a binary search over a sorted
 * `Uint32Array`: no allocation per call.
 *
 * Create it with {@link HashRing.create}, which loads the hash function; everything after is synchronous.
 *
 * @example
 * ```ts
 * import { HashRing } from 'system-design-blocks/sharding';
 *
 * const ring = await HashRing.create({ nodes: ['orders-eu', 'orders-us', { id: 'orders-apac', weight: 2 }] });
 * const shard = ring.get('order-1042'); // same key, same node, every time
 * const [primary, replica] = ring.getN('order-1042', 2); // the replica is where to fail over
 * console.log(shard === primary, replica !== primary);
 * ```
 */
export class HashRing implements ReplicaRouter {
  /** Points per unit of weight. */
  readonly virtualNodes: number;
  #core: RingCore;
  readonly #stamps = new OwnerStamps();

  private constructor(core: RingCore) {
    this.#core = core;
    this.virtualNodes = core.virtualNodes;
  }

  /**
   * Creates a ring. Awaits the hash function's one-time initialisation; the ring is synchronous after.
   *
   * @param options - Nodes and virtual nodes; validated here.
   * @throws {@link ValidationError} on a bad option (naming it, e.g. `options.nodes[2].weight`);
   * {@link DuplicateNodeError} when an id is given twice.
   * @example
   * ```ts
   * import { HashRing } from 'system-design-blocks/sharding';
   *
   * const ring = await HashRing.create({ nodes: ['a', 'b', 'c'], virtualNodes: 200 });
   * console.log(ring.size, ring.points); // 3 600
   * ```
   */
  static async create(options?: HashRingOptions): Promise<HashRing> {
    const { nodes, virtualNodes } = resolveRingOptions(options, 'options');
    await initHashing();
    return new HashRing(RingCore.build(nodes, virtualNodes));
  }

  /** Number of nodes. */
  get size(): number {
    return this.#core.size;
  }

  /** Number of points on the ring (the sum of `round(virtualNodes × weight)` over the nodes). */
  get points(): number {
    return this.#core.length;
  }

  /**
   * The node `key` goes to: the owner of the first point clockwise from the key's hash.
   *
   * @param key - A string (hashed as UTF-8) or bytes.
   * @throws {@link EmptyRingError} when the ring has no node; {@link ValidationError} on a bad key.
   */
  get(key: ShardKey): string {
    checkKey(key);
    const core = this.#core;
    if (core.length === 0) throw new EmptyRingError('HashRing.get');
    return core.ids[core.owners[core.find(keyPosition(key))] as number] as string;
  }

  /**
   * Up to `n` distinct nodes for `key`, walking clockwise from its hash: the first is `get(key)`, the next
   * ones are where its replicas go and where to fail over. Fewer when the ring has fewer nodes; prefix
   * stable (`getN(key, 2)` starts with `getN(key, 1)`).
   *
   * @param key - A string (hashed as UTF-8) or bytes.
   * @param n - How many nodes, a positive integer.
   * @throws {@link EmptyRingError} when the ring has no node; {@link ValidationError} on a bad key or `n`.
   */
  getN(key: ShardKey, n: number): string[] {
    checkKey(key);
    checkCount(n);
    const core = this.#core;
    if (core.length === 0) throw new EmptyRingError('HashRing.getN');
    const want = Math.min(n, core.size);
    const stamps = this.#stamps.begin(core.size);
    const epoch = this.#stamps.epoch;
    const { owners, ids } = core;
    const length = owners.length;
    const result: string[] = [];
    for (let i = core.find(keyPosition(key)); result.length < want; i = i + 1 === length ? 0 : i + 1) {
      const owner = owners[i] as number;
      if (stamps[owner] !== epoch) {
        stamps[owner] = epoch;
        result.push(ids[owner] as string);
      }
    }
    return result;
  }

  /**
   * Adds a node: it takes over the keys between each of its points and the point before, and nothing else
   * moves.
   *
   * @param node - An id (weight 1) or `{ id, weight }`.
   * @throws {@link DuplicateNodeError} when the id is on the ring; {@link ValidationError} on a bad node.
   * Either way the ring is unchanged.
   */
  add(node: NodeInput): void {
    const parsed = parseNode(node, 'node');
    const core = this.#core;
    if (core.ranks.has(parsed.id)) throw new DuplicateNodeError(parsed.id, 'HashRing.add');
    checkRingRoom(node, core.virtualNodes, parsed.weight, core.pointsAfterAdding(parsed.weight), core.size + 1, 'node');
    core.add(parsed);
  }

  /**
   * Removes a node: only its keys move, each to the next node clockwise.
   *
   * @param id - The node's id.
   * @throws {@link UnknownNodeError} when no such node is on the ring; {@link ValidationError} when `id` is
   * not a non-empty string. Either way the ring is unchanged.
   */
  remove(id: string): void {
    checkNodeId(id, 'id');
    if (!this.#core.ranks.has(id)) throw new UnknownNodeError(id, 'HashRing.remove');
    this.#core.remove(id);
  }

  /** True when `id` is on the ring. */
  has(id: string): boolean {
    return this.#core.ranks.has(id);
  }

  /** The node ids, in the order they were added. */
  nodes(): string[] {
    return [...this.#core.order];
  }

  /**
   * The weight `id` was added with.
   *
   * @throws {@link UnknownNodeError} when no such node is on the ring.
   */
  weightOf(id: string): number {
    const rank = this.#core.ranks.get(id);
    if (rank === undefined) throw new UnknownNodeError(id, 'HashRing.weightOf');
    return this.#core.weights[rank] as number;
  }

  /** An independent copy, e.g. to compare routings before and after a change with {@link compareRouting}. */
  clone(): HashRing {
    return new HashRing(this.#core.clone());
  }
}
