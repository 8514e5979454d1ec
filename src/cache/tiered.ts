/**
 * Two tiers: an in-process {@link Cache} in front of a shared {@link CacheStore}.
 */
import { randomUUID } from 'node:crypto';
import { abortReason } from '../core/errors.js';
import { type Disposable, Emitter, type Subscribe } from '../core/events.js';
import {
  assertFunction,
  assertNonEmptyString,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from '../core/validation.js';
import { Cache, type CacheLoader, CappedTtl, cacheInternals } from './cache.js';
import { CacheStoreError } from './errors.js';
import type { CacheEntryState, CacheStats } from './events.js';
import { type CacheKey, type CacheOptions, checkSetOptions, resolveCacheOptions } from './options.js';
import { type CacheStore, type CacheStoreEvent, type CacheStoreHit, MemoryCacheStore } from './store.js';

/**
 * The shared-tier part of {@link TieredCacheOptions}.
 *
 * @typeParam K - Key type.
 * @typeParam V - Value type.
 */
export interface TieredCacheStoreOptions<K, V> {
  /** The shared tier. @defaultValue a new {@link MemoryCacheStore} on the same clock */
  readonly store?: CacheStore<Exclude<V, undefined>>;
  /**
   * How long the shared tier keeps a value, in ms. Required when `ttl` is not set: a shared tier always
   * has a retention.
   * @defaultValue the in-process `ttl`
   */
  readonly storeTtl?: number;
  /**
   * Maps a key to the store's string key. Required for keys that are not strings or numbers.
   * @defaultValue strings as they are, numbers and bigints with `String`
   */
  readonly storeKey?: (key: K) => string;
  /** This process' name in store events, so it ignores its own writes. @defaultValue a random UUID */
  readonly origin?: string;
}

/**
 * Options of {@link TieredCache}: those of the in-process {@link Cache} (bound, TTL, stale windows, …) and
 * those of the shared tier.
 *
 * @typeParam K - Key type.
 * @typeParam V - Value type.
 */
export type TieredCacheOptions<K, V> = CacheOptions<string, V> & TieredCacheStoreOptions<K, V>;

/** Per-entry options of {@link TieredCache.set}. */
export interface TieredCacheSetOptions {
  /** Freshness in ms, in both tiers. @defaultValue `ttl` in process, `storeTtl` in the store */
  readonly ttl?: number;
}

/** Options of one {@link TieredCache.getOrLoad} call. */
export interface TieredCacheLoadOptions extends TieredCacheSetOptions {
  /** Abandons this caller's wait, as in {@link Cache.getOrLoad}. @defaultValue undefined */
  readonly signal?: AbortSignal;
}

/** Counters of a {@link TieredCache}: the in-process tier's, and the shared tier's. */
export interface TieredCacheStats extends CacheStats {
  /** In-process misses answered by the shared tier. */
  readonly storeHits: number;
  /** In-process misses the shared tier could not answer either (the loader ran, or `get` found nothing). */
  readonly storeMisses: number;
  /** Shared-tier operations that failed. */
  readonly storeErrors: number;
}

/** What the tier loader needs from the caller. */
interface LoadContext<K, V> {
  readonly key: K;
  readonly loader: CacheLoader<K, V>;
  readonly ttl: number | undefined;
}

function defaultStoreKey(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'bigint') return String(key);
  return invalid('key', 'a string or a number (or set options.storeKey)', key);
}

/**
 * An in-process {@link Cache} in front of a shared {@link CacheStore} (Redis, later). A read tries the
 * in-process tier, then the store, then the loader, and writes what it found back to the tiers it missed.
 * Writes go through both tiers. When the store broadcasts changes, every process drops its in-process copy
 * of a key another process wrote.
 *
 * The in-process tier keeps all of {@link Cache}'s behaviour (single flight, stale windows, negative
 * caching, jitter); "not found" is remembered in process only. A failing store never fails a read: the read
 * falls through to the loader and the failure is reported on {@link TieredCache.onStoreError}.
 *
 * @typeParam K - Key type.
 * @typeParam V - Value type.
 * @example
 * ```ts
 * import { MemoryCacheStore, TieredCache } from 'system-design-blocks/cache';
 *
 * const shared = new MemoryCacheStore<string>(); // stands in for Redis
 * const web1 = new TieredCache<string, string>({ max: 1_000, ttl: 5_000, storeTtl: 60_000, store: shared });
 * const web2 = new TieredCache<string, string>({ max: 1_000, ttl: 5_000, storeTtl: 60_000, store: shared });
 * await web1.getOrLoad('sku-1', async () => 'from the database');
 * console.log(await web2.getOrLoad('sku-1', async () => 'not called')); // from the database
 * web1.dispose();
 * web2.dispose();
 * ```
 */
export class TieredCache<K extends CacheKey, V> implements Disposable {
  readonly #local: Cache<string, V>;
  readonly #store: CacheStore<Exclude<V, undefined>>;
  readonly #storeTtl: number;
  readonly #storeKey: (key: K) => string;
  readonly #origin: string;
  readonly #subscription: Disposable | undefined;
  readonly #storeErrorEvents = new Emitter<CacheStoreError>();
  /** Bumped when a write starts and ends, and on every invalidation: a store read racing one does not fill. */
  #epoch = 0;
  #writing = 0;
  /** Keys with a load running here → writes seen for them since; a load that saw one does not share its result. */
  readonly #loading = new Map<string, { writes: number; loads: number }>();
  #storeHits = 0;
  #storeMisses = 0;
  #storeErrors = 0;

  /** The shared tier failed (the read fell through, or the write rejected with this error). */
  readonly onStoreError: Subscribe<CacheStoreError> = this.#storeErrorEvents.subscribe;

  /**
   * @param options - The in-process tier's options and the shared tier's; validated here.
   * @throws `ValidationError` naming the option at fault (as {@link Cache}'s constructor, and
   *   `storeTtl` missing without `ttl`, a `store` without `get`/`set`/`delete`, a bad `storeKey`/`origin`).
   */
  constructor(options: TieredCacheOptions<K, V>) {
    const o = optionsObject(options, 'options') as TieredCacheOptions<K, V>;
    const resolved = resolveCacheOptions(o);
    const storeTtl = o.storeTtl ?? resolved.ttl;
    if (storeTtl === undefined) {
      invalid('options.storeTtl', 'a finite number > 0 of ms (required when options.ttl is not set)', storeTtl);
    }
    assertPositiveNumber(storeTtl, 'options.storeTtl');
    const store = o.store ?? new MemoryCacheStore<Exclude<V, undefined>>({ clock: resolved.clock });
    if (typeof store !== 'object' || store === null) invalid('options.store', 'a CacheStore', store);
    assertFunction(store.get, 'options.store.get');
    assertFunction(store.set, 'options.store.set');
    assertFunction(store.delete, 'options.store.delete');
    if (store.subscribe !== undefined) assertFunction(store.subscribe, 'options.store.subscribe');
    if (o.storeKey !== undefined) assertFunction(o.storeKey, 'options.storeKey');
    const origin = o.origin ?? randomUUID();
    assertNonEmptyString(origin, 'options.origin');
    const { store: _store, storeTtl: _storeTtl, storeKey: _storeKey, origin: _origin, ...local } = o;
    this.#local = new Cache<string, V>(local as CacheOptions<string, V>);
    this.#store = store;
    this.#storeTtl = storeTtl;
    this.#storeKey = o.storeKey ?? defaultStoreKey;
    this.#origin = origin;
    this.#subscription = store.subscribe?.((event: CacheStoreEvent) => {
      if (event.origin === this.#origin) return;
      this.#epoch++;
      this.#sawWrite(event.key);
      this.#local.delete(event.key);
    });
  }

  /**
   * The in-process tier, for its events ({@link Cache.onHit}, {@link Cache.onEvict}, …), statistics and
   * inspection. Keyed by store keys. Writes made directly on it skip the shared tier.
   */
  get local(): Cache<string, V> {
    return this.#local;
  }

  /**
   * The value of `key`: from the in-process tier when fresh there, else from the store (and copied into
   * the in-process tier for at most the time the store has left), else `undefined`. No loader runs.
   *
   * @param key - The key.
   * @throws `ValidationError` (as a rejection) on a key the `storeKey` cannot map.
   */
  async get(key: K): Promise<V | undefined> {
    const storeKey = this.#key(key);
    const local = this.#local.get(storeKey);
    if (local !== undefined || this.#local.has(storeKey)) return local;
    const epoch = this.#epoch;
    const hit = await this.#storeGet(storeKey);
    if (hit === undefined) {
      this.#storeMisses++;
      return undefined;
    }
    this.#storeHits++;
    if (epoch === this.#epoch && this.#writing === 0) {
      cacheInternals().setCapped(this.#local, storeKey, hit.value as V, hit.ttl);
    }
    return hit.value;
  }

  /**
   * Cache-aside through both tiers: the in-process tier answers when it can (fresh, or stale inside its
   * windows, as {@link Cache.getOrLoad}); on a miss one load per key and process reads the store, and only
   * when the store misses too calls `loader` and writes its result to the store (awaited; a store failure
   * is reported, not thrown).
   *
   * @param key - The key.
   * @param loader - Called with the key and an abort signal when both tiers miss.
   * @param options - This call's signal and the TTL of what it loads.
   * @throws The loader's error, the signal's reason, or `ValidationError`, as {@link Cache.getOrLoad}.
   * @example
   * ```ts
   * import { TieredCache } from 'system-design-blocks/cache';
   *
   * const cache = new TieredCache<number, string>({ max: 100, ttl: 1_000 });
   * console.log(await cache.getOrLoad(7, async (id) => `product ${id}`)); // product 7
   * cache.dispose();
   * ```
   */
  getOrLoad(key: K, loader: CacheLoader<K, V>, options?: TieredCacheLoadOptions): Promise<V> {
    let storeKey: string;
    try {
      storeKey = this.#key(key);
      if (typeof loader !== 'function') invalid('loader', 'a function', loader);
      if (options !== undefined) optionsObject(options, 'options');
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    const context: LoadContext<K, V> = { key, loader, ttl: options?.ttl };
    return cacheInternals().load(this.#local, storeKey, this.#loadThrough, options, context);
  }

  /**
   * Writes `value` to the store, then to the in-process tier. Storing `undefined` deletes the key from the
   * store and remembers "not found" in process (when `negativeTtl` is set).
   *
   * @param key - The key.
   * @param value - The value.
   * @param options - The entry's TTL.
   * @throws {@link CacheStoreError} (as a rejection) when the store write fails; the in-process copy is
   *   dropped then, so this process does not serve a value the others cannot see.
   *   `ValidationError` on a bad key or option.
   */
  async set(key: K, value: V, options?: TieredCacheSetOptions): Promise<void> {
    const storeKey = this.#key(key);
    checkSetOptions(options, 'options');
    this.#beginWrite();
    this.#sawWrite(storeKey);
    try {
      if (value === undefined) {
        await this.#storeWrite('delete', storeKey, () => this.#store.delete(storeKey, { origin: this.#origin }));
      } else {
        const ttl = options?.ttl ?? this.#storeTtl;
        await this.#storeWrite('set', storeKey, () =>
          this.#store.set(storeKey, value as Exclude<V, undefined>, { ttl, origin: this.#origin }),
        );
      }
      this.#local.set(storeKey, value, options?.ttl === undefined ? undefined : { ttl: options.ttl });
    } catch (error: unknown) {
      this.#local.delete(storeKey);
      throw error;
    } finally {
      this.#endWrite();
    }
  }

  /**
   * Deletes `key` from the store, then from the in-process tier (a load in flight is not stored).
   *
   * @param key - The key.
   * @returns True when either tier held it.
   * @throws {@link CacheStoreError} (as a rejection) when the store delete fails (the in-process copy is
   *   dropped anyway). `ValidationError` on a bad key.
   */
  async delete(key: K): Promise<boolean> {
    const storeKey = this.#key(key);
    this.#beginWrite();
    this.#sawWrite(storeKey);
    let removed: boolean;
    try {
      removed = await this.#storeWrite('delete', storeKey, () =>
        this.#store.delete(storeKey, { origin: this.#origin }),
      );
    } catch (error: unknown) {
      this.#local.delete(storeKey);
      this.#endWrite();
      throw error;
    }
    const local = this.#local.delete(storeKey);
    this.#endWrite();
    return removed || local;
  }

  /**
   * The in-process state of `key`, as {@link Cache.inspect}.
   *
   * @param key - The key.
   */
  inspect(key: K): CacheEntryState<V> {
    return this.#local.inspect(this.#key(key));
  }

  /** A snapshot of both tiers' counters. */
  stats(): TieredCacheStats {
    return {
      ...this.#local.stats(),
      storeHits: this.#storeHits,
      storeMisses: this.#storeMisses,
      storeErrors: this.#storeErrors,
    };
  }

  /** Stops listening to the store's invalidations. The cache keeps working, without them. */
  dispose(): void {
    this.#subscription?.dispose();
  }

  /** The in-process loader: store first, then the caller's loader, whose result is written to the store. */
  readonly #loadThrough = async (
    storeKey: string,
    signal: AbortSignal,
    context: LoadContext<K, V>,
  ): Promise<V | CappedTtl<V>> => {
    let watch = this.#loading.get(storeKey);
    if (watch === undefined) {
      watch = { writes: 0, loads: 0 };
      this.#loading.set(storeKey, watch);
    }
    watch.loads++;
    const writesBefore = watch.writes;
    try {
      const hit = await this.#storeGet(storeKey);
      if (hit !== undefined) {
        this.#storeHits++;
        return new CappedTtl(hit.value as V, hit.ttl);
      }
      this.#storeMisses++;
      if (signal.aborted) throw abortReason(signal);
      const value = await context.loader(context.key, signal);
      // A write of this key (here or elsewhere) during the load: what was loaded may be older than what the
      // store now holds, so it is answered to the waiters but not shared.
      if (value !== undefined && watch.writes === writesBefore) {
        const ttl = context.ttl ?? this.#storeTtl;
        try {
          await this.#storeWrite('set', storeKey, () =>
            this.#store.set(storeKey, value as Exclude<V, undefined>, { ttl, origin: this.#origin }),
          );
        } catch {
          // Reported on onStoreError by #storeWrite; the value is good, only the sharing failed.
        }
      }
      return value;
    } finally {
      if (--watch.loads === 0) this.#loading.delete(storeKey);
    }
  };

  #sawWrite(storeKey: string): void {
    const watch = this.#loading.get(storeKey);
    if (watch !== undefined) watch.writes++;
  }

  #key(key: K): string {
    const storeKey = this.#storeKey(key);
    if (typeof storeKey !== 'string') invalid('options.storeKey', 'a function returning a string', storeKey);
    return storeKey;
  }

  async #storeGet(storeKey: string): Promise<CacheStoreHit<Exclude<V, undefined>> | undefined> {
    try {
      const hit = await this.#store.get(storeKey);
      return hit === undefined || !(hit.ttl > 0) ? undefined : hit;
    } catch (error: unknown) {
      this.#reportStoreError(new CacheStoreError('get', storeKey, error));
      return undefined;
    }
  }

  async #storeWrite<T>(operation: 'set' | 'delete', storeKey: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error: unknown) {
      const failure = new CacheStoreError(operation, storeKey, error);
      this.#reportStoreError(failure);
      throw failure;
    }
  }

  #reportStoreError(error: CacheStoreError): void {
    this.#storeErrors++;
    this.#storeErrorEvents.emit(error);
  }

  #beginWrite(): void {
    this.#epoch++;
    this.#writing++;
  }

  #endWrite(): void {
    this.#epoch++;
    this.#writing--;
  }
}
