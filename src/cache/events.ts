/**
 * What a {@link Cache} reports: counters ({@link CacheStats}), typed event payloads, and the state of one
 * entry ({@link CacheEntryState}).
 */

/** Counters of a {@link Cache} since it was created (or since {@link Cache.resetStats}). */
export interface CacheStats {
  /** Reads answered from the cache without waiting for a load (fresh, or stale while revalidating). */
  readonly hits: number;
  /** Reads that found no usable entry and had to wait for a load (or returned `undefined` from `get`). */
  readonly misses: number;
  /** Loader calls started, background refreshes included. */
  readonly loads: number;
  /** Reads that joined a load already in flight instead of starting one (the single flight at work). */
  readonly coalesced: number;
  /** Answers given from a stale entry: stale-while-revalidate hits and stale-if-error fallbacks. */
  readonly staleServed: number;
  /** Background refreshes started in the stale-while-revalidate window. */
  readonly refreshes: number;
  /** Loader calls that rejected (or threw). */
  readonly loadErrors: number;
  /** Entries removed to make room (the LRU bound at work). */
  readonly evictions: number;
  /** `hits / (hits + misses)`, 0 before the first read. */
  readonly hitRatio: number;
  /** Entries held now, stale ones included. */
  readonly size: number;
}

/** Payload of {@link Cache.onHit}. */
export interface CacheHitEvent<K> {
  /** The key read. */
  readonly key: K;
  /** True when the answer was a stale value served while a refresh runs. */
  readonly stale: boolean;
}

/** Payload of {@link Cache.onMiss}. */
export interface CacheMissEvent<K> {
  /** The key read. */
  readonly key: K;
}

/** Payload of {@link Cache.onLoad}: a loader call resolved. */
export interface CacheLoadEvent<K> {
  /** The key loaded. */
  readonly key: K;
  /** Time the loader took, in ms of the cache's clock. */
  readonly durationMs: number;
  /** True for a stale-while-revalidate background refresh. */
  readonly background: boolean;
  /** False when the loader resolved `undefined` ("not found"). */
  readonly found: boolean;
  /** False when the result was not stored because the key was written, deleted or cleared meanwhile. */
  readonly stored: boolean;
}

/** Payload of {@link Cache.onRefresh}: a background refresh started. */
export interface CacheRefreshEvent<K> {
  /** The key being refreshed. */
  readonly key: K;
  /** How long the entry has been stale, in ms. */
  readonly staleForMs: number;
}

/**
 * Why an entry left the cache:
 * - `capacity`: evicted to respect `max` or `maxSize` (least recently used first);
 * - `expired`: found past its TTL and every stale window;
 * - `tag`: found invalidated by {@link Cache.invalidateTag}.
 */
export type CacheEvictReason = 'capacity' | 'expired' | 'tag';

/** Payload of {@link Cache.onEvict}. */
export interface CacheEvictEvent<K, V> {
  /** The key removed. */
  readonly key: K;
  /** The value it held (`undefined` for a remembered "not found"). */
  readonly value: V | undefined;
  /** Why it was removed. */
  readonly reason: CacheEvictReason;
}

/** Payload of {@link Cache.onError}: a loader call failed. */
export interface CacheErrorEvent<K> {
  /** The key whose load failed. */
  readonly key: K;
  /** What the loader threw or rejected with. */
  readonly error: unknown;
  /** True for a stale-while-revalidate background refresh (nobody was waiting for it). */
  readonly background: boolean;
}

/**
 * The state of one entry, from {@link Cache.inspect}, without touching its recency or the statistics:
 * - `absent`: nothing usable (never set, deleted, expired past every window, or tag-invalidated);
 * - `fresh`: within its TTL;
 * - `stale`: past its TTL but inside a stale window; `revalidate` tells whether that is the
 *   stale-while-revalidate window (served at once) or only the stale-if-error one (served on failure).
 *
 * @typeParam V - Value type.
 */
export type CacheEntryState<V> =
  | {
      /** No usable entry. */
      readonly state: 'absent';
    }
  | {
      /** Within its TTL. */
      readonly state: 'fresh';
      /** The cached value (`undefined` for a remembered "not found"). */
      readonly value: V | undefined;
      /** Time left until it turns stale, in ms (`Infinity` without a TTL). */
      readonly expiresInMs: number;
      /** Its tags. */
      readonly tags: readonly string[];
    }
  | {
      /** Past its TTL, inside a stale window. */
      readonly state: 'stale';
      /** The stale value. */
      readonly value: V | undefined;
      /** How long it has been stale, in ms. */
      readonly staleForMs: number;
      /** True inside the stale-while-revalidate window, false inside the stale-if-error window only. */
      readonly revalidate: boolean;
      /** Its tags. */
      readonly tags: readonly string[];
    };
