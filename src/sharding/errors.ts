/**
 * The sharding block's errors. Each has a stable `code`, the node id a caller needs, and a guard that works
 * across copies of the package.
 */
import { errorGuard, SystemDesignError } from '../core/index.js';

/**
 * A lookup (`get`, `getN`, `assign`) on a router that has no node (`E_EMPTY_RING`), or a removal that would
 * leave assigned keys without any node. Nothing has changed when it is thrown.
 *
 * @example
 * ```ts
 * import { HashRing, isEmptyRingError } from 'system-design-blocks/sharding';
 *
 * const ring = await HashRing.create();
 * try {
 *   ring.get('order-1');
 * } catch (error: unknown) {
 *   if (isEmptyRingError(error)) console.log('add a node first');
 * }
 * ```
 */
export class EmptyRingError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_EMPTY_RING';
  /** The operation that needed a node, e.g. `HashRing.get`. */
  readonly operation: string;

  /**
   * @param operation - The operation that needed a node.
   * @param message - What went wrong; a default names the operation.
   */
  constructor(operation: string, message = `${operation}: the router has no node to route to`) {
    super(EmptyRingError.code, message);
    this.operation = operation;
  }
}

/** True when `error` is an {@link EmptyRingError} from any copy of the package. */
export const isEmptyRingError: (error: unknown) => error is EmptyRingError = errorGuard<EmptyRingError>(
  EmptyRingError.code,
);

/**
 * A node id given twice, at creation or by `add` (`E_DUPLICATE_NODE`). Nothing has changed when it is thrown.
 *
 * @example
 * ```ts
 * import { HashRing, isDuplicateNodeError } from 'system-design-blocks/sharding';
 *
 * const ring = await HashRing.create({ nodes: ['eu-1'] });
 * try {
 *   ring.add('eu-1');
 * } catch (error: unknown) {
 *   if (isDuplicateNodeError(error)) console.log(error.nodeId); // eu-1
 * }
 * ```
 */
export class DuplicateNodeError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_DUPLICATE_NODE';
  /** The id given twice. */
  readonly nodeId: string;

  /**
   * @param nodeId - The id given twice.
   * @param argument - Where it was given, e.g. `options.nodes[3]`.
   */
  constructor(nodeId: string, argument: string) {
    super(DuplicateNodeError.code, `${argument}: node ${JSON.stringify(nodeId)} is already on the router`);
    this.nodeId = nodeId;
  }
}

/** True when `error` is a {@link DuplicateNodeError} from any copy of the package. */
export const isDuplicateNodeError: (error: unknown) => error is DuplicateNodeError = errorGuard<DuplicateNodeError>(
  DuplicateNodeError.code,
);

/**
 * A node id the router does not have, given to `remove`, `weightOf`, … (`E_UNKNOWN_NODE`). Nothing has
 * changed when it is thrown.
 *
 * @example
 * ```ts
 * import { HashRing, isUnknownNodeError } from 'system-design-blocks/sharding';
 *
 * const ring = await HashRing.create({ nodes: ['eu-1'] });
 * try {
 *   ring.remove('us-1');
 * } catch (error: unknown) {
 *   if (isUnknownNodeError(error)) console.log(error.nodeId); // us-1
 * }
 * ```
 */
export class UnknownNodeError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_UNKNOWN_NODE';
  /** The id that is not on the router. */
  readonly nodeId: string;

  /**
   * @param nodeId - The id that is not on the router.
   * @param operation - The operation it was given to, e.g. `HashRing.remove`.
   */
  constructor(nodeId: string, operation: string) {
    super(UnknownNodeError.code, `${operation}: no node ${JSON.stringify(nodeId)} on the router`);
    this.nodeId = nodeId;
  }
}

/** True when `error` is an {@link UnknownNodeError} from any copy of the package. */
export const isUnknownNodeError: (error: unknown) => error is UnknownNodeError = errorGuard<UnknownNodeError>(
  UnknownNodeError.code,
);

/**
 * `JumpHash.remove` was asked to remove a node other than the last one (`E_JUMP_HASH_NOT_LAST`). Jump
 * hashing numbers its buckets 0…n-1, so only the last can leave without renumbering (and moving) the keys
 * of every later bucket. Nothing has changed when it is thrown.
 *
 * @example
 * ```ts
 * import { isJumpHashRemovalError, JumpHash } from 'system-design-blocks/sharding';
 *
 * const jump = await JumpHash.create({ nodes: ['a', 'b', 'c'] });
 * try {
 *   jump.remove('a');
 * } catch (error: unknown) {
 *   if (isJumpHashRemovalError(error)) console.log(error.lastNodeId); // c
 * }
 * ```
 */
export class JumpHashRemovalError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_JUMP_HASH_NOT_LAST';
  /** The node that was asked to leave. */
  readonly nodeId: string;
  /** The only node that may leave now: the last one added. */
  readonly lastNodeId: string;

  /**
   * @param nodeId - The node that was asked to leave.
   * @param lastNodeId - The last node, the only one that can leave.
   */
  constructor(nodeId: string, lastNodeId: string) {
    super(
      JumpHashRemovalError.code,
      `JumpHash.remove: only the last node (${JSON.stringify(lastNodeId)}) can be removed; removing ` +
        `${JSON.stringify(nodeId)} would renumber the buckets after it and move their keys. ` +
        'Use HashRing or Rendezvous when any node may leave.',
    );
    this.nodeId = nodeId;
    this.lastNodeId = lastNodeId;
  }
}

/** True when `error` is a {@link JumpHashRemovalError} from any copy of the package. */
export const isJumpHashRemovalError: (error: unknown) => error is JumpHashRemovalError =
  errorGuard<JumpHashRemovalError>(JumpHashRemovalError.code);

/**
 * A {@link ShardRouter}'s router chose a node for which no shard is registered (`E_MISSING_SHARD`): a node
 * was added to the router without `setShard`.
 *
 * @example
 * ```ts
 * import { HashRing, isMissingShardError, ShardRouter } from 'system-design-blocks/sharding';
 *
 * const ring = await HashRing.create({ nodes: ['eu'] });
 * const shards = new ShardRouter({ router: ring, shards: { eu: 'eu-db' } });
 * ring.add('us');
 * try {
 *   shards.shard('us');
 * } catch (error: unknown) {
 *   if (isMissingShardError(error)) console.log(`register a shard for ${error.nodeId}`);
 * }
 * ```
 */
export class MissingShardError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_MISSING_SHARD';
  /** The node without a shard. */
  readonly nodeId: string;

  /** @param nodeId - The node without a shard. */
  constructor(nodeId: string) {
    super(
      MissingShardError.code,
      `ShardRouter: the router routes to node ${JSON.stringify(nodeId)} but no shard is registered for it ` +
        '(call setShard when adding a node)',
    );
    this.nodeId = nodeId;
  }
}

/** True when `error` is a {@link MissingShardError} from any copy of the package. */
export const isMissingShardError: (error: unknown) => error is MissingShardError = errorGuard<MissingShardError>(
  MissingShardError.code,
);
