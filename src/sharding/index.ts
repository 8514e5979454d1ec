/**
 * Sharding: split large datasets (order data, sessions, carts) across servers so that each key has one
 * home, the load is even, and adding or removing a server moves as few keys as possible.
 *
 * Four routers share the {@link Router} interface: {@link HashRing} (consistent hashing with virtual nodes,
 * weights, replicas), {@link JumpHash} (no memory, perfectly even, append-only), {@link Rendezvous} (highest
 * random weight, weights and replicas, O(nodes) per lookup) and {@link BoundedLoadRing} (consistent hashing
 * with a cap on every node's load). {@link compareRouting} tells what a change would move;
 * {@link ShardRouter} maps keys to your shard objects.
 *
 * @module
 */
export {
  type BoundedLoadMove,
  type BoundedLoadMoveReason,
  BoundedLoadRing,
  type BoundedLoadRingOptions,
} from './bounded.js';
export { compareRouting, type RoutingComparison, type RoutingFlow } from './compare.js';
export {
  DuplicateNodeError,
  EmptyRingError,
  isDuplicateNodeError,
  isEmptyRingError,
  isJumpHashRemovalError,
  isMissingShardError,
  isUnknownNodeError,
  JumpHashRemovalError,
  MissingShardError,
  UnknownNodeError,
} from './errors.js';
export { HashRing, type HashRingOptions } from './hash-ring.js';
export { JumpHash, type JumpHashOptions, jumpHash } from './jump.js';
export { Rendezvous, type RendezvousOptions } from './rendezvous.js';
export { ShardRouter, type ShardRouterOptions } from './shard-router.js';
export type { NodeInput, NodeSpec, ReplicaRouter, Router, ShardKey } from './types.js';
