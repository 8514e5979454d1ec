/**
 * Keys to shard objects, through any router.
 */
import { invalid, optionsObject } from '../core/validation.js';
import { MissingShardError } from './errors.js';
import { checkCount, checkNodeId } from './internal.js';
import type { ReplicaRouter, Router, ShardKey } from './types.js';

/** Options of {@link ShardRouter}. */
export interface ShardRouterOptions<Shard, R extends Router = Router> {
  /** Chooses the node of each key; the router stays yours to `add` and `remove` nodes on. */
  readonly router: R;
  /** The shard object of each node (a store, a client, a pool): every node of the router needs one. */
  readonly shards: ReadonlyMap<string, Shard> | Readonly<Record<string, Shard>>;
}

/**
 * Maps keys to shard objects (e.g. one order store per region) through any {@link Router}: the router picks
 * the node, the shard router hands back that node's shard. `getN` (replicas, failover) is there when the
 * router ranks nodes ({@link HashRing}, {@link Rendezvous}); with another router, calling it does not type
 * check.
 *
 * @typeParam Shard - The shard objects.
 * @typeParam R - The router's type.
 * @example
 * ```ts
 * import { HashRing, ShardRouter } from 'system-design-blocks/sharding';
 *
 * interface OrderStore {
 *   readonly region: string;
 *   readonly orders: Map<string, string>;
 * }
 * const store = (region: string): OrderStore => ({ region, orders: new Map() });
 * const ring = await HashRing.create({ nodes: ['kr', 'jp', 'tw'] });
 * const stores = new ShardRouter({ router: ring, shards: { kr: store('kr'), jp: store('jp'), tw: store('tw') } });
 * stores.get('order-1042').orders.set('order-1042', 'shipped');
 * const [primary, replica] = stores.getN('order-1042', 2);
 * console.log(primary?.region !== replica?.region); // true
 * ```
 */
export class ShardRouter<Shard, R extends Router = Router> {
  /** The router choosing nodes. */
  readonly router: R;
  readonly #shards: Map<string, Shard>;

  /**
   * @param options - The router and the shard of each of its nodes.
   * @throws {@link ValidationError} when the router is not one, or a router node has no shard.
   */
  constructor(options: ShardRouterOptions<Shard, R>) {
    const o = optionsObject(options, 'options');
    const router = o.router;
    if (
      typeof router !== 'object' ||
      router === null ||
      typeof router.get !== 'function' ||
      typeof router.nodes !== 'function'
    ) {
      invalid('options.router', 'a Router (HashRing, JumpHash, Rendezvous, BoundedLoadRing or your own)', router);
    }
    const shards = o.shards;
    if (typeof shards !== 'object' || shards === null) {
      invalid('options.shards', 'a Map or a record of shards by node id', shards);
    }
    const map = shards instanceof Map ? new Map(shards) : new Map(Object.entries(shards as Record<string, Shard>));
    for (const id of router.nodes()) {
      if (!map.has(id))
        invalid('options.shards', `a shard for every router node (none for ${JSON.stringify(id)})`, shards);
    }
    this.router = router;
    this.#shards = map;
  }

  /**
   * The shard `key` goes to.
   *
   * @throws {@link EmptyRingError} when the router has no node; {@link MissingShardError} when its node has
   * no shard; {@link ValidationError} on a bad key.
   */
  get(key: ShardKey): Shard {
    return this.shard(this.router.get(key));
  }

  /**
   * Up to `n` distinct shards for `key`, in the router's preference order: the primary, then where its
   * replicas go and where to fail over. Only for routers with `getN`.
   *
   * @throws {@link EmptyRingError} when the router has no node; {@link MissingShardError} when a node has no
   * shard; {@link ValidationError} on a bad key or `n`.
   */
  getN(this: ShardRouter<Shard, ReplicaRouter>, key: ShardKey, n: number): Shard[] {
    checkCount(n);
    const router: Partial<ReplicaRouter> = this.router;
    if (typeof router.getN !== 'function') invalid('router', 'a router with getN (HashRing, Rendezvous)', router);
    return this.router.getN(key, n).map((id) => this.shard(id));
  }

  /**
   * The node `key` goes to (the router's answer).
   *
   * @throws {@link EmptyRingError} when the router has no node; {@link ValidationError} on a bad key.
   */
  nodeOf(key: ShardKey): string {
    return this.router.get(key);
  }

  /**
   * The shard of node `id`.
   *
   * @throws {@link MissingShardError} when no shard is registered for `id`.
   */
  shard(id: string): Shard {
    const shard = this.#shards.get(id);
    if (shard === undefined && !this.#shards.has(id)) throw new MissingShardError(id);
    return shard as Shard;
  }

  /**
   * Registers (or replaces) the shard of node `id`; do it before adding `id` to the router.
   *
   * @throws {@link ValidationError} when `id` is not a non-empty string.
   */
  setShard(id: string, shard: Shard): void {
    checkNodeId(id, 'id');
    this.#shards.set(id, shard);
  }

  /**
   * Forgets the shard of node `id`, once the router no longer routes to it.
   *
   * @returns Whether a shard was registered.
   * @throws {@link ValidationError} when the router still has node `id` (remove it from the router first).
   */
  deleteShard(id: string): boolean {
    checkNodeId(id, 'id');
    if (this.router.has(id)) invalid('id', 'a node the router no longer has (remove it from the router first)', id);
    return this.#shards.delete(id);
  }

  /** The registered shards by node id. */
  shards(): Map<string, Shard> {
    return new Map(this.#shards);
  }
}
