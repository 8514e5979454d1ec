/**
 * Errors of the cache block.
 */
import { errorGuard, SystemDesignError } from '../core/errors.js';

/** The {@link CacheStore} operation that failed. */
export type CacheStoreOperation = 'get' | 'set' | 'delete';

/**
 * The shared tier of a {@link TieredCache} failed (`E_CACHE_STORE`): the store's own error is in `cause`.
 * Reads survive it (they fall through to the loader); a write-through `set` or `delete` rejects with it.
 *
 * @example
 * ```ts
 * import { isCacheStoreError, TieredCache } from 'system-design-blocks/cache';
 *
 * const redisDown = {
 *   get: async () => undefined,
 *   set: async (): Promise<void> => {
 *     throw new Error('ECONNREFUSED');
 *   },
 *   delete: async () => false,
 * };
 * const cache = new TieredCache<string, number>({ max: 100, ttl: 1_000, store: redisDown });
 * try {
 *   await cache.set('stock:sku-1', 3);
 * } catch (error: unknown) {
 *   if (isCacheStoreError(error)) console.log(error.operation, error.key); // set stock:sku-1
 * }
 * ```
 */
export class CacheStoreError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_CACHE_STORE';
  /** The store key involved. */
  readonly key: string;
  /** The operation that failed. */
  readonly operation: CacheStoreOperation;

  /**
   * @param operation - The store operation that failed.
   * @param key - The store key involved.
   * @param cause - What the store threw.
   */
  constructor(operation: CacheStoreOperation, key: string, cause: unknown) {
    super(CacheStoreError.code, `Cache store ${operation} of ${JSON.stringify(key)} failed`, { cause });
    this.operation = operation;
    this.key = key;
  }
}

/** True when `error` is a {@link CacheStoreError} from any copy of the package. */
export const isCacheStoreError: (error: unknown) => error is CacheStoreError = errorGuard<CacheStoreError>(
  CacheStoreError.code,
);
