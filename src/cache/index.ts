/**
 * Caching for hot reads (`system-design-blocks/cache`), built on lru-cache: {@link Cache} adds single-flight
 * cache-aside loading, stale-while-revalidate, stale-if-error, jittered TTLs, negative caching, tag
 * invalidation, statistics and typed events; {@link TieredCache} puts it in front of a shared
 * {@link CacheStore} (in memory by default, Redis later) that any store proves with
 * {@link runCacheStoreContract}.
 *
 * @example
 * ```ts
 * import { Cache } from 'system-design-blocks/cache';
 *
 * const cache = new Cache<string, string[]>({ max: 10_000, ttl: 60_000, staleWhileRevalidate: 30_000 });
 * const recommendations = await cache.getOrLoad('user-1', async () => ['sku-1', 'sku-2']);
 * console.log(recommendations.length, cache.stats().hitRatio); // 2 0
 * ```
 *
 * @module
 */
export { Cache, type CacheLoader } from './cache.js';
export {
  type CacheStoreContractContext,
  type CacheStoreContractOptions,
  type CacheStoreFactory,
  runCacheStoreContract,
} from './contract.js';
export { CacheStoreError, type CacheStoreOperation, isCacheStoreError } from './errors.js';
export type {
  CacheEntryState,
  CacheErrorEvent,
  CacheEvictEvent,
  CacheEvictReason,
  CacheHitEvent,
  CacheLoadEvent,
  CacheMissEvent,
  CacheRefreshEvent,
  CacheStats,
} from './events.js';
export type {
  CacheCommonOptions,
  CacheCountBound,
  CacheKey,
  CacheLoadOptions,
  CacheMemoizeOptions,
  CacheOptions,
  CacheSetOptions,
  CacheSizeBound,
} from './options.js';
export {
  type CacheStore,
  type CacheStoreEvent,
  type CacheStoreHit,
  type CacheStoreSetOptions,
  type CacheStoreWriteOptions,
  MemoryCacheStore,
  type MemoryCacheStoreOptions,
} from './store.js';
export {
  TieredCache,
  type TieredCacheLoadOptions,
  type TieredCacheOptions,
  type TieredCacheSetOptions,
  type TieredCacheStats,
  type TieredCacheStoreOptions,
} from './tiered.js';
