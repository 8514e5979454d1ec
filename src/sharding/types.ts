/**
 * The types every router of the block shares.
 */

/** A key to route: a string (hashed as UTF-8) or raw bytes. */
export type ShardKey = string | Uint8Array;

/** A node with a weight: it receives a share of the keys proportional to its weight. */
export interface NodeSpec {
  /** The node's id, a non-empty string unique on the router. */
  readonly id: string;
  /**
   * Relative capacity, a finite number \> 0: a node of weight 2 receives about twice the keys of a node of
   * weight 1.
   * @defaultValue 1
   */
  readonly weight?: number;
}

/** A node as the routers accept it: its id (weight 1) or a {@link NodeSpec}. */
export type NodeInput = string | NodeSpec;

/**
 * What every router of the block offers: which node a key goes to, and which nodes there are. Implemented
 * by {@link HashRing}, {@link JumpHash}, {@link Rendezvous} and {@link BoundedLoadRing}; taken by
 * {@link compareRouting} and {@link ShardRouter}.
 */
export interface Router {
  /** Number of nodes. */
  readonly size: number;
  /**
   * The node `key` goes to.
   * @throws {@link EmptyRingError} when the router has no node; {@link ValidationError} on a bad key.
   */
  get(key: ShardKey): string;
  /** True when `id` is one of the nodes. */
  has(id: string): boolean;
  /** The node ids, in the order they were added. */
  nodes(): string[];
}

/**
 * A router that can also rank nodes for a key: {@link HashRing} and {@link Rendezvous}. The first node of
 * `getN(key, n)` is `get(key)`; the next ones are where its replicas go and where to fail over.
 */
export interface ReplicaRouter extends Router {
  /**
   * Up to `n` distinct nodes for `key`, in preference order (fewer when the router has fewer). Prefix
   * stable: `getN(key, n)` starts with `getN(key, n - 1)`.
   * @throws {@link EmptyRingError} when the router has no node; {@link ValidationError} when `n` is not a
   * positive integer or the key is bad.
   */
  getN(key: ShardKey, n: number): string[];
}
