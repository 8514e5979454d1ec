/**
 * The in-process cache: lru-cache keeps the entries, their recency, the bound and each entry's freshness;
 * this file adds what lru-cache leaves to its users: single-flight loads with per-caller abandonment, stale
 * serving, jittered expiry, negative caching, lazy tag invalidation, statistics and events.
 *
 * How time maps onto lru-cache: each entry's (jittered) TTL is lru-cache's per-entry `ttl`, read through
 * `perf` = our `Clock`, so a fresh hit is exactly an lru-cache hit (its compact start/ttl arrays, one clock
 * read). `ttlResolution: 0` because its default caches `now()` behind a real timer, and no `ttlAutopurge`
 * (real timers again): all time comes from the clock. `noDeleteOnStaleGet` keeps an expired entry for the
 * stale windows, which need no storage of their own: they are cache-wide, and `getRemainingTTL` (negative
 * once stale) says how long an entry has been stale. Entries past every window are dropped when read, by
 * {@link Cache.prune}, or by LRU eviction. lru-cache's `fetch()` is not used: its abort and rejection rules
 * differ from the single flight specified here.
 *
 * Values are stored bare (no wrapper to allocate on set or dereference on get); only entries with tags, and
 * `null`/`undefined` values ("not found"), are wrapped in an {@link Entry}. While the cache holds no wrapped
 * entry a hit does not even test for one; wrapped entries are counted exactly through lru-cache's `dispose`.
 */
import { LRUCache } from 'lru-cache';
import { type Clock, systemClock } from '../core/clock.js';
import { AbortedError, abortReason, ValidationError } from '../core/errors.js';
import { Emitter, type Subscribe } from '../core/events.js';
import { assertFunction, assertNonEmptyString, invalid, optionsObject } from '../core/validation.js';
import type {
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
import {
  type CacheKey,
  type CacheLoadOptions,
  type CacheMemoizeOptions,
  type CacheOptions,
  type CacheSetOptions,
  checkLoadOptions,
  checkSetOptions,
  checkTags,
  checkTtl,
  resolveCacheOptions,
} from './options.js';

/**
 * Loads the value of a key on a miss. Gets the key and a signal that aborts when every caller waiting for
 * this load has abandoned it. Resolving `undefined` means "not found" (remembered for `negativeTtl`).
 *
 * @typeParam K - Key type.
 * @typeParam V - Value type.
 */
export type CacheLoader<K, V> = (key: K, signal: AbortSignal) => V | PromiseLike<V>;

/** A loader as the cache calls it: public loaders ignore the third argument. */
type InternalLoader<K, V, C> = (
  key: K,
  signal: AbortSignal,
  context: C,
) => V | CappedTtl<V> | PromiseLike<V | CappedTtl<V>>;

/**
 * @internal A loader result that also caps the entry's TTL (the shared tier returns how long its copy has
 * left). Not exported from the package, so no user value can be one.
 */
export class CappedTtl<V> {
  constructor(
    readonly value: V,
    readonly maxTtl: number,
  ) {}
}

/** A value lru-cache cannot hold bare: one with tags, or `null`/`undefined` ("not found"). */
class Entry<V> {
  constructor(
    readonly value: V | undefined,
    /** Tags, or undefined for none. */
    readonly tags: readonly string[] | undefined,
    /** Tag generation this entry is known valid at; raised when a check passes so it runs once per epoch. */
    public gen: number,
  ) {}
}

/** One load in flight for a key, shared by every caller who asks meanwhile. */
class Flight<K, V> {
  readonly controller = new AbortController();
  readonly promise: Promise<V>;
  resolve!: (value: V) => void;
  reject!: (error: unknown) => void;
  /** Waiters that carry a signal and are still waiting. */
  abandonable = 0;
  /** A waiter without a signal joined: it cannot leave, so the load is never aborted for abandonment. */
  pinned = false;
  /** The key was written, deleted or cleared meanwhile: the result goes to the waiters but is not stored. */
  superseded = false;
  settled = false;

  constructor(
    readonly key: K,
    readonly gen: number,
    readonly ttl: number | undefined,
    readonly tags: readonly string[] | undefined,
    readonly background: boolean,
    readonly started: number,
  ) {
    this.promise = new Promise<V>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Nobody may be waiting (a background refresh, or every waiter abandoned): that is not an unhandled error.
    this.promise.catch(noop);
  }
}

function noop(): void {}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function freezeTags(tags: readonly string[] | undefined): readonly string[] | undefined {
  return tags === undefined || tags.length === 0 ? undefined : Object.freeze([...tags]);
}

function unwrap<V>(slot: Slot<V>): V {
  return (slot instanceof Entry ? slot.value : slot) as V;
}

function checkKey(key: unknown): void {
  if (key === undefined || key === null) invalid('key', 'a key other than null or undefined', key);
}

const NO_TAGS: readonly string[] = Object.freeze([]);
/** What lru-cache holds per key: the bare value, or an {@link Entry} when it has tags or is null/undefined. */
type Slot<V> = NonNullable<V> | Entry<V>;

const INF = Number.POSITIVE_INFINITY;
/** lru-cache reads a start time of 0 as "no TTL", and a manual clock starts at 0: shift lru-cache's time line. */
const PERF_OFFSET = 1;

/**
 * @internal The `perf` lru-cache reads time from: the injected clock, shifted off 0; for {@link systemClock} (which is
 * `performance.now()`, never 0 once the process runs) `performance` itself, so the TTL check costs exactly
 * what it costs in lru-cache.
 */
export function lruPerf(clock: Clock): { now(): number } {
  return clock === systemClock ? performance : { now: () => clock.now() + PERF_OFFSET };
}

/** Fewest recorded tag invalidations before a sweep; the sweep also waits for as many as there are entries. */
const TAG_SWEEP_MIN = 1024;

/** @internal Hooks {@link TieredCache} uses; not exported from the package. */
export interface CacheInternals {
  load<K extends CacheKey, V, C>(
    cache: Cache<K, V>,
    key: K,
    loader: InternalLoader<K, V, C>,
    options: CacheLoadOptions | undefined,
    context: C,
  ): Promise<V>;
  setCapped<K extends CacheKey, V>(cache: Cache<K, V>, key: K, value: V, maxTtl: number): void;
}

let hooks: CacheInternals | undefined;

/** @internal The hooks for {@link TieredCache}. */
export function cacheInternals(): CacheInternals {
  return hooks as CacheInternals;
}

/**
 * A bounded in-process cache on lru-cache with cache-aside loading: concurrent misses for one key share one
 * loader call, stale entries can be served while a single background refresh runs or while the source is
 * failing, TTLs are jittered, "not found" can be remembered, entries can be invalidated by tag, and every
 * outcome is counted and observable.
 *
 * @typeParam K - Key type (anything but `null`/`undefined`, compared with `SameValueZero`).
 * @typeParam V - Value type. Include `undefined` (`Cache<string, Product | undefined>`) when a loader may
 *   answer "not found".
 * @example
 * ```ts
 * import { Cache } from 'system-design-blocks/cache';
 *
 * const products = new Cache<string, { sku: string; price: number } | undefined>({
 *   max: 10_000,
 *   ttl: 60_000,
 *   ttlJitter: 0.1,
 *   staleWhileRevalidate: 30_000,
 *   staleIfError: 300_000,
 *   negativeTtl: 5_000,
 * });
 * const product = await products.getOrLoad('sku-42', async (sku) => ({ sku, price: 1999 }));
 * console.log(product?.price, products.stats().misses); // 1999 1
 * ```
 */
export class Cache<K extends CacheKey, V> {
  static {
    hooks = {
      load: (cache, key, loader, options, context) => cache.#getOrLoad(key, loader, options, context),
      setCapped: (cache, key, value, maxTtl) => {
        cache.#supersede(key);
        cache.#store(key, value, undefined, undefined, cache.#gen, maxTtl);
      },
    };
  }

  readonly #lru: LRUCache<K, Slot<V>>;
  /**
   * Reused options of lru-cache's `set`, with and without a TTL: without them it allocates a fresh `{}` per
   * call. lru-cache only reads them, and writes `status` (for diagnostics_channel), reset before each call.
   */
  readonly #setOptions: LRUCache.SetOptions<K, Slot<V>, unknown> = { ttl: 0, status: undefined };
  readonly #plainSetOptions: LRUCache.SetOptions<K, Slot<V>, unknown> = { status: undefined };
  /** Number of {@link Entry} slots held; 0 lets a hit skip the `instanceof` test. */
  #wrapped = 0;
  /** Some entry was given a TTL: misses must look for a stale entry. */
  #timed = false;
  readonly #sized: boolean;
  readonly #ttl: number | undefined;
  readonly #jitter: number;
  readonly #random: () => number;
  readonly #swr: number;
  readonly #sie: number;
  readonly #negativeTtl: number | undefined;
  readonly #clock: Clock;
  readonly #flights = new Map<K, Flight<K, V>>();
  /** Tag → generation of its latest invalidation. */
  readonly #tagGens = new Map<string, number>();
  #gen = 0;
  #pendingEvictions: CacheEvictEvent<K, V>[] = [];
  /** Age past its TTL of the entry the last {@link Cache.#findStale} returned. */
  #staleAgeMs = 0;

  #hits = 0;
  #misses = 0;
  #loads = 0;
  #coalesced = 0;
  #staleServed = 0;
  #refreshes = 0;
  #loadErrors = 0;
  #evictions = 0;

  readonly #hitEvents = new Emitter<CacheHitEvent<K>>();
  readonly #missEvents = new Emitter<CacheMissEvent<K>>();
  readonly #loadEvents = new Emitter<CacheLoadEvent<K>>();
  readonly #refreshEvents = new Emitter<CacheRefreshEvent<K>>();
  readonly #evictEvents = new Emitter<CacheEvictEvent<K, V>>();
  readonly #errorEvents = new Emitter<CacheErrorEvent<K>>();

  /** A read was answered from the cache (`stale` tells a stale-while-revalidate answer). */
  readonly onHit: Subscribe<CacheHitEvent<K>> = this.#hitEvents.subscribe;
  /** A read found no usable entry. */
  readonly onMiss: Subscribe<CacheMissEvent<K>> = this.#missEvents.subscribe;
  /** A loader call resolved. */
  readonly onLoad: Subscribe<CacheLoadEvent<K>> = this.#loadEvents.subscribe;
  /** A stale-while-revalidate background refresh started. */
  readonly onRefresh: Subscribe<CacheRefreshEvent<K>> = this.#refreshEvents.subscribe;
  /** An entry left: evicted for room, found expired past every window, or found tag-invalidated. */
  readonly onEvict: Subscribe<CacheEvictEvent<K, V>> = this.#evictEvents.subscribe;
  /** A loader call failed (whether or not a stale value covered it). */
  readonly onError: Subscribe<CacheErrorEvent<K>> = this.#errorEvents.subscribe;

  /**
   * @param options - A bound (`max`, or `maxSize` with `sizeOf`) and the expiry options; validated here.
   * @throws `ValidationError` naming the option at fault (no bound, non-positive or non-finite bounds
   *   and durations, `ttlJitter` outside [0, 1), a `sizeOf`, `clock` or `random` that is not a function).
   */
  constructor(options: CacheOptions<K, V>) {
    const o = resolveCacheOptions(options);
    this.#clock = o.clock;
    this.#random = o.random;
    this.#ttl = o.ttl;
    this.#jitter = o.ttlJitter;
    this.#swr = o.staleWhileRevalidate;
    this.#sie = o.staleIfError;
    this.#negativeTtl = o.negativeTtl;
    const sizeOf = o.sizeOf;
    this.#sized = sizeOf !== undefined;
    const clock = o.clock;
    const dispose = (slot: Slot<V>, key: K, reason: LRUCache.DisposeReason): void => {
      if (this.#wrapped !== 0 && slot instanceof Entry) this.#wrapped--;
      if (reason !== 'evict') return;
      this.#evictions++;
      // lru-cache is mid-operation here: events go out once it has returned (see #flushEvictions).
      if (this.#evictEvents.size !== 0) {
        this.#pendingEvictions.push({
          key,
          value: slot instanceof Entry ? slot.value : (slot as V),
          reason: 'capacity',
        });
      }
    };
    const common = {
      dispose,
      perf: lruPerf(clock),
      ttlResolution: 0,
      noDeleteOnStaleGet: true,
    };
    const lruOptions: LRUCache.Options<K, Slot<V>, unknown> = sizeOf === undefined
      ? { ...common, max: o.max as number }
      : {
          ...common,
          ...(o.max === undefined ? {} : { max: o.max }),
          maxSize: o.maxSize as number,
          sizeCalculation: (slot: Slot<V>, key: K): number => {
            const value = slot instanceof Entry ? slot.value : (slot as V);
            if (value === undefined) return 1;
            const size = sizeOf(value as Exclude<V, undefined>, key);
            if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) {
              invalid('options.sizeOf', 'a function returning a positive integer', size);
            }
            return size;
          },
        };
    this.#lru = new LRUCache<K, Slot<V>>(lruOptions);
  }

  /** Entries held now, stale ones included (they leave when read past every window, on prune, or by eviction). */
  get size(): number {
    return this.#lru.size;
  }

  /**
   * The fresh value of `key`, or `undefined`. Refreshes the key's recency. An entry is fresh for `ttl` ms
   * after it was written, that instant included. Never returns a stale value: a plain read has no loader to
   * revalidate with (use {@link Cache.getOrLoad}).
   *
   * @param key - The key to read.
   */
  get(key: K): V | undefined {
    // Kept small so the engine inlines it, and lru-cache's get into it; the rest is in #getEntry.
    const slot = this.#lru.get(key);
    if (slot !== undefined && (this.#wrapped === 0 || !(slot instanceof Entry))) {
      this.#hits++;
      if (this.#hitEvents.size !== 0) this.#hitEvents.emit({ key, stale: false });
      return slot as V;
    }
    return this.#getEntry(key, slot as Entry<V> | undefined);
  }

  /** The rest of {@link Cache.get}: a wrapped fresh entry to check, or a miss. */
  #getEntry(key: K, slot: Entry<V> | undefined): V | undefined {
    if (slot !== undefined) {
      if (this.#tagsValidNow(slot)) {
        this.#hits++;
        if (this.#hitEvents.size !== 0) this.#hitEvents.emit({ key, stale: false });
        return slot.value;
      }
      this.#remove(key, slot, 'tag');
    } else {
      this.#findStale(key); // drops the entry when it is past every window
    }
    this.#misses++;
    if (this.#missEvents.size !== 0) this.#missEvents.emit({ key });
    return undefined;
  }

  /**
   * The fresh value of `key`, or `undefined`, without touching its recency or the statistics.
   *
   * @param key - The key to read.
   */
  peek(key: K): V | undefined {
    const slot = this.#lru.peek(key);
    if (slot === undefined) return undefined;
    if (!(slot instanceof Entry)) return slot as V;
    return this.#tagsValidNow(slot) ? slot.value : undefined;
  }

  /**
   * True when `key` has a fresh entry (a remembered "not found" counts). Does not touch recency or stats.
   *
   * @param key - The key to look up.
   */
  has(key: K): boolean {
    const slot = this.#lru.peek(key);
    return slot !== undefined && (!(slot instanceof Entry) || this.#tagsValidNow(slot));
  }

  /**
   * Stores `value` under `key` (write-through from the caller's side). A load in flight for the key still
   * answers its waiters but no longer overwrites this value. Storing `undefined` remembers "not found" for
   * `options.ttl` or `negativeTtl`, and deletes the key when neither is set.
   *
   * @param key - The key.
   * @param value - The value.
   * @param options - This entry's TTL and tags.
   * @returns The cache, for chaining.
   * @throws `ValidationError` on a `null`/`undefined` key, a non-positive or non-finite `ttl`, or tags
   *   that are not non-empty strings; nothing is changed then.
   */
  set(key: K, value: V, options?: CacheSetOptions): this {
    if (options === undefined && this.#ttl === undefined && value !== undefined && value !== null && key != null) {
      // The common case, inline: a bare value without TTL or tags. Loads in flight are superseded once the
      // write has succeeded (a throwing sizeOf leaves everything as it was).
      const o = this.#plainSetOptions;
      o.status = undefined;
      this.#lru.set(key, value as NonNullable<V>, o);
      if (this.#flights.size !== 0) this.#supersede(key);
      if (this.#pendingEvictions.length !== 0) this.#flushEvictions();
      return this;
    }
    if (key === undefined || key === null) checkKey(key);
    if (options !== undefined) checkSetOptions(options, 'options');
    if (value === undefined && options?.ttl === undefined && this.#negativeTtl === undefined) {
      this.#lru.delete(key);
    } else {
      this.#store(key, value, options?.ttl, options?.tags, this.#gen, INF);
    }
    if (this.#flights.size !== 0) this.#supersede(key);
    return this;
  }

  /**
   * Removes `key`. A load in flight for it still answers its waiters but is not stored (and a background
   * refresh is aborted), so a delete after a database write cannot be undone by an older read.
   *
   * @param key - The key.
   * @returns True when an entry (fresh or stale) was removed.
   */
  delete(key: K): boolean {
    if (this.#flights.size !== 0) this.#supersede(key);
    return this.#lru.delete(key);
  }

  /** Removes every entry; loads in flight still answer their waiters but are not stored. */
  clear(): void {
    for (const key of [...this.#flights.keys()]) this.#supersede(key);
    this.#lru.clear();
    this.#tagGens.clear();
  }

  /**
   * Invalidates every entry tagged `tag`, lazily: this call is O(1) (it records the invalidation), and each
   * entry is checked when next read. Loads in flight that started before the call store results that are
   * already invalid, so an older read cannot outlive the invalidation.
   *
   * @param tag - The tag.
   * @throws `ValidationError` when `tag` is not a non-empty string.
   */
  invalidateTag(tag: string): void {
    assertNonEmptyString(tag, 'tag');
    this.#gen++;
    this.#tagGens.set(tag, this.#gen);
    if (this.#tagGens.size > TAG_SWEEP_MIN && this.#tagGens.size > this.#lru.size) this.#sweepTags();
  }

  /**
   * Cache-aside read with single flight. A fresh entry answers at once. Otherwise one loader call serves
   * every concurrent caller for the key; inside the stale-while-revalidate window the stale value answers
   * at once and one background refresh runs; inside the stale-if-error window a failed load answers with
   * the stale value. A rejection reaches every waiter and is not cached; `undefined` ("not found") is
   * cached for `negativeTtl` when set.
   *
   * A caller's `signal` abandons only its own wait; the loader's signal aborts when every waiter has
   * abandoned (never while a caller without a signal, or a background refresh, needs the result).
   *
   * @param key - The key.
   * @param loader - Called on a miss with the key and an abort signal.
   * @param options - This call's signal, and the TTL and tags of the entry it loads.
   * @returns The value (the loader's, a cached one, or a stale one as described).
   * @throws `ValidationError` (as a rejection) when `loader` is not a function or an option is bad;
   *   the loader's own error when the load fails outside any stale window; the signal's reason (or
   *   `AbortedError`) when this caller abandons.
   * @example
   * ```ts
   * import { Cache } from 'system-design-blocks/cache';
   *
   * const cache = new Cache<string, number>({ max: 100, ttl: 1_000 });
   * let calls = 0;
   * const load = async (): Promise<number> => ++calls;
   * await Promise.all(Array.from({ length: 1_000 }, () => cache.getOrLoad('k', load)));
   * console.log(calls); // 1
   * ```
   */
  getOrLoad(key: K, loader: CacheLoader<K, V>, options?: CacheLoadOptions): Promise<V> {
    return this.#getOrLoad(key, loader, options, undefined);
  }

  /**
   * Wraps `fn` into a cached function with the semantics of {@link Cache.getOrLoad} (single flight, stale
   * windows, negative caching). Without `options.key` the first argument is the key.
   *
   * @param fn - The function to cache, taking the key.
   * @param options - TTL and tags of its results.
   * @returns The cached function.
   * @throws `ValidationError` when `fn` or `options.key` is not a function, or an option is bad.
   * @example
   * ```ts
   * import { Cache } from 'system-design-blocks/cache';
   *
   * const cache = new Cache<string, string[]>({ max: 1_000, ttl: 30_000 });
   * const recommend = cache.memoize(async (userId: string) => [`for ${userId}`]);
   * console.log(await recommend('u1')); // ['for u1']
   * ```
   */
  memoize(fn: (key: K) => V | PromiseLike<V>, options?: CacheMemoizeOptions<K, [key: K]>): (key: K) => Promise<V>;
  /**
   * Wraps `fn` into a cached function; `options.key` derives the cache key from its arguments.
   *
   * @param fn - The function to cache.
   * @param options - How to derive the key, and the TTL and tags of its results.
   * @returns The cached function.
   * @throws `ValidationError` when `fn` or `options.key` is not a function, or an option is bad.
   */
  memoize<A extends readonly unknown[]>(
    fn: (...args: A) => V | PromiseLike<V>,
    options: CacheMemoizeOptions<K, A> & { readonly key: (...args: A) => K },
  ): (...args: A) => Promise<V>;
  memoize<A extends readonly unknown[]>(
    fn: (...args: A) => V | PromiseLike<V>,
    options?: CacheMemoizeOptions<K, A>,
  ): (...args: A) => Promise<V> {
    assertFunction(fn, 'fn');
    const o = optionsObject(options, 'options');
    if (o.key !== undefined) assertFunction(o.key, 'options.key');
    checkTtl(o.ttl, 'options.ttl');
    checkTags(o.tags, 'options.tags');
    const keyOf = o.key;
    const loadOptions: CacheLoadOptions | undefined =
      o.ttl === undefined && o.tags === undefined ? undefined : { ttl: o.ttl, tags: o.tags };
    const call = (_key: K, _signal: AbortSignal, args: A): V | PromiseLike<V> => fn(...args);
    return (...args: A): Promise<V> => {
      let key: K;
      try {
        key = keyOf === undefined ? (args[0] as K) : keyOf(...args);
        checkKey(key);
      } catch (error: unknown) {
        return Promise.reject(error);
      }
      return this.#getOrLoad(key, call, loadOptions, args);
    };
  }

  /**
   * The state of `key`'s entry (fresh, stale and in which window, or absent), without touching its recency
   * or the statistics.
   *
   * @param key - The key.
   */
  inspect(key: K): CacheEntryState<V> {
    const slot = this.#lru.peek(key, { allowStale: true });
    if (slot === undefined || !this.#tagsValidNow(slot)) return { state: 'absent' };
    const value = slot instanceof Entry ? slot.value : (slot as V);
    const tags = (slot instanceof Entry ? slot.tags : undefined) ?? NO_TAGS;
    const remaining = this.#lru.getRemainingTTL(key);
    if (remaining >= 0) return { state: 'fresh', value, expiresInMs: remaining, tags };
    const age = -remaining;
    if (age > this.#horizonOf(slot)) return { state: 'absent' };
    return { state: 'stale', value, staleForMs: age, revalidate: age <= this.#swrOf(slot), tags };
  }

  /**
   * Removes every entry past its TTL and stale windows, or invalidated by tag. O(size); reads do this lazily
   * for the keys they touch, this frees the memory of the rest.
   *
   * @returns The number of entries removed.
   */
  prune(): number {
    let removed = 0;
    for (const [key] of this.#lru.dump()) {
      const slot = this.#lru.peek(key, { allowStale: true });
      if (slot === undefined) continue;
      if (!this.#tagsValidNow(slot)) {
        this.#remove(key, slot, 'tag');
        removed++;
        continue;
      }
      const remaining = this.#lru.getRemainingTTL(key);
      if (remaining < 0 && -remaining > this.#horizonOf(slot)) {
        this.#remove(key, slot, 'expired');
        removed++;
      }
    }
    return removed;
  }

  /** A snapshot of the counters. */
  stats(): CacheStats {
    const reads = this.#hits + this.#misses;
    return {
      hits: this.#hits,
      misses: this.#misses,
      loads: this.#loads,
      coalesced: this.#coalesced,
      staleServed: this.#staleServed,
      refreshes: this.#refreshes,
      loadErrors: this.#loadErrors,
      evictions: this.#evictions,
      hitRatio: reads === 0 ? 0 : this.#hits / reads,
      size: this.#lru.size,
    };
  }

  /** Sets every counter back to 0 (a benchmark's warm-up, a new reporting period). */
  resetStats(): void {
    this.#hits = 0;
    this.#misses = 0;
    this.#loads = 0;
    this.#coalesced = 0;
    this.#staleServed = 0;
    this.#refreshes = 0;
    this.#loadErrors = 0;
    this.#evictions = 0;
  }

  // ── reads ──────────────────────────────────────────────────────────────────────────────────────────

  #getOrLoad<C>(
    key: K,
    loader: InternalLoader<K, V, C>,
    options: CacheLoadOptions | undefined,
    context: C,
  ): Promise<V> {
    if (typeof loader !== 'function') {
      return Promise.reject(new ValidationError({ argument: 'loader', expected: 'a function', received: loader }));
    }
    if (options !== undefined) {
      try {
        checkLoadOptions(options, 'options');
      } catch (error: unknown) {
        return Promise.reject(error);
      }
      if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
    }
    const slot = this.#lru.get(key);
    if (slot !== undefined && (this.#wrapped === 0 || !(slot instanceof Entry))) {
      this.#hits++;
      if (this.#hitEvents.size !== 0) this.#hitEvents.emit({ key, stale: false });
      return Promise.resolve(slot as V);
    }
    return this.#getOrLoadEntry(key, slot as Entry<V> | undefined, loader, options, context);
  }

  /** The rest of {@link Cache.getOrLoad}: a wrapped fresh entry to check, a stale entry, or a miss. */
  #getOrLoadEntry<C>(
    key: K,
    slot: Entry<V> | undefined,
    loader: InternalLoader<K, V, C>,
    options: CacheLoadOptions | undefined,
    context: C,
  ): Promise<V> {
    if (slot !== undefined) {
      if (this.#tagsValidNow(slot)) {
        this.#hits++;
        if (this.#hitEvents.size !== 0) this.#hitEvents.emit({ key, stale: false });
        return Promise.resolve(slot.value as V);
      }
      this.#remove(key, slot, 'tag');
    }
    try {
      checkKey(key);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    const stale = slot === undefined ? this.#findStale(key) : undefined;
    const age = this.#staleAgeMs;
    if (stale !== undefined && age <= this.#swrOf(stale)) {
      this.#hits++;
      this.#staleServed++;
      if (this.#hitEvents.size !== 0) this.#hitEvents.emit({ key, stale: true });
      if (this.#joinable(key) === undefined) {
        this.#refreshes++;
        if (this.#refreshEvents.size !== 0) this.#refreshEvents.emit({ key, staleForMs: age });
        this.#start(key, loader, context, options, true);
      }
      return Promise.resolve(unwrap(stale));
    }
    this.#misses++;
    if (this.#missEvents.size !== 0) this.#missEvents.emit({ key });
    let flight = this.#joinable(key);
    if (flight === undefined) flight = this.#start(key, loader, context, options, false);
    else this.#coalesced++;
    const fallback = stale !== undefined && age <= this.#sieOf(stale) ? stale : undefined;
    return this.#wait(flight, options?.signal, fallback);
  }

  /** Joins `flight`: with a signal the caller can leave; with a fallback a failure answers the stale value. */
  #wait(flight: Flight<K, V>, signal: AbortSignal | undefined, fallback: Slot<V> | undefined): Promise<V> {
    if (signal === undefined) {
      flight.pinned = true;
      if (fallback === undefined) return flight.promise;
      return flight.promise.then(undefined, (error: unknown) => this.#staleOr(flight.key, fallback, error));
    }
    flight.abandonable++;
    return new Promise<V>((resolve, reject) => {
      let waiting = true;
      const onAbort = (): void => {
        if (!waiting) return;
        waiting = false;
        flight.abandonable--;
        reject(abortReason(signal));
        if (flight.abandonable === 0 && !flight.pinned && !flight.background && !flight.settled) this.#abandon(flight);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          if (!waiting) return;
          waiting = false;
          flight.abandonable--;
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          if (!waiting) return;
          waiting = false;
          flight.abandonable--;
          signal.removeEventListener('abort', onAbort);
          if (fallback === undefined) reject(error);
          else this.#staleOr(flight.key, fallback, error).then(resolve, reject);
        },
      );
    });
  }

  /** After a failed load: the stale value, while it is still current and inside its stale-if-error window. */
  #staleOr(key: K, stale: Slot<V>, error: unknown): Promise<V> {
    if (this.#lru.peek(key, { allowStale: true }) === stale && this.#tagsValidNow(stale)) {
      const remaining = this.#lru.getRemainingTTL(key);
      if (remaining >= 0 || -remaining <= this.#sieOf(stale)) {
        this.#staleServed++;
        return Promise.resolve(unwrap(stale));
      }
    }
    return Promise.reject(error);
  }

  /**
   * The stale entry of `key` that a stale window may still serve (its age past the TTL is left in
   * #staleAgeMs), or undefined. Drops the entry when it is past every window or tag-invalidated.
   */
  #findStale(key: K): Slot<V> | undefined {
    if (!this.#timed) return undefined;
    const remaining = this.#lru.getRemainingTTL(key);
    if (!(remaining < 0)) return undefined; // absent (0), or fresh
    const slot = this.#lru.peek(key, { allowStale: true });
    if (slot === undefined) return undefined;
    if (!this.#tagsValidNow(slot)) {
      this.#remove(key, slot, 'tag');
      return undefined;
    }
    if (-remaining > this.#horizonOf(slot)) {
      this.#remove(key, slot, 'expired');
      return undefined;
    }
    this.#staleAgeMs = -remaining;
    return slot;
  }

  /** Stale-while-revalidate window of an entry, in ms ("not found" has none). */
  #swrOf(slot: Slot<V>): number {
    return slot instanceof Entry && slot.value === undefined ? 0 : this.#swr;
  }

  /** Stale-if-error window of an entry, in ms ("not found" has none). */
  #sieOf(slot: Slot<V>): number {
    return slot instanceof Entry && slot.value === undefined ? 0 : this.#sie;
  }

  /** Time past its TTL after which an entry is useless. */
  #horizonOf(slot: Slot<V>): number {
    return Math.max(this.#swrOf(slot), this.#sieOf(slot));
  }

  // ── loads ──────────────────────────────────────────────────────────────────────────────────────────

  #start<C>(
    key: K,
    loader: InternalLoader<K, V, C>,
    context: C,
    options: CacheLoadOptions | undefined,
    background: boolean,
  ): Flight<K, V> {
    const flight = new Flight<K, V>(
      key,
      this.#gen,
      options?.ttl,
      freezeTags(options?.tags),
      background,
      this.#clock.now(),
    );
    this.#flights.set(key, flight);
    this.#loads++;
    let result: V | CappedTtl<V> | PromiseLike<V | CappedTtl<V>>;
    try {
      result = loader(key, flight.controller.signal, context);
    } catch (error: unknown) {
      this.#fail(flight, error);
      return flight;
    }
    if (isPromiseLike(result)) {
      Promise.resolve(result).then(
        (value) => this.#settle(flight, value),
        (error: unknown) => this.#fail(flight, error),
      );
    } else {
      this.#settle(flight, result);
    }
    return flight;
  }

  #settle(flight: Flight<K, V>, result: V | CappedTtl<V>): void {
    if (flight.settled) return;
    flight.settled = true;
    const key = flight.key;
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
    const capped = result instanceof CappedTtl;
    const value: V = capped ? (result as CappedTtl<V>).value : (result as V);
    const maxTtl = capped ? (result as CappedTtl<V>).maxTtl : INF;
    let stored = false;
    if (!flight.superseded) {
      if (value !== undefined || this.#negativeTtl !== undefined) {
        this.#store(key, value, flight.ttl, flight.tags, flight.gen, maxTtl);
        stored = this.#lru.has(key);
      } else {
        this.#lru.delete(key); // "not found" and no negative caching: the stale copy is gone too
      }
    }
    if (this.#loadEvents.size !== 0) {
      this.#loadEvents.emit({
        key,
        durationMs: this.#clock.now() - flight.started,
        background: flight.background,
        found: value !== undefined,
        stored,
      });
    }
    flight.resolve(value);
  }

  #fail(flight: Flight<K, V>, error: unknown): void {
    if (flight.settled) return;
    flight.settled = true;
    const key = flight.key;
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
    // A loader that gave up because every waiter abandoned it is not a load error: nobody asked anymore.
    if (!flight.controller.signal.aborted) {
      this.#loadErrors++;
      if (this.#errorEvents.size !== 0) this.#errorEvents.emit({ key, error, background: flight.background });
    }
    flight.reject(error);
  }

  /** Every waiter left: abort the loader and forget the flight (a late result is not stored). */
  #abandon(flight: Flight<K, V>): void {
    flight.superseded = true;
    if (this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
    flight.controller.abort(new AbortedError('Every caller waiting for this cache load abandoned it'));
  }

  /** The key was written: a load in flight must not overwrite it; a refresh nobody waits for is aborted. */
  #supersede(key: K): void {
    const flight = this.#flights.get(key);
    if (flight === undefined) return;
    flight.superseded = true;
    this.#flights.delete(key);
    if (flight.background && !flight.settled && flight.abandonable === 0 && !flight.pinned) {
      flight.controller.abort(new AbortedError('The cache entry was replaced while it was being refreshed'));
    }
  }

  /** The flight for `key` a caller may join: not one whose tags were invalidated since it started. */
  #joinable(key: K): Flight<K, V> | undefined {
    const flight = this.#flights.get(key);
    if (flight === undefined || flight.tags === undefined || flight.gen >= this.#gen) return flight;
    if (this.#tagsValidAt(flight.tags, flight.gen)) return flight;
    this.#supersede(key);
    return undefined;
  }

  // ── storage ────────────────────────────────────────────────────────────────────────────────────────

  #store(
    key: K,
    value: V | undefined,
    ttl: number | undefined,
    tags: readonly string[] | undefined,
    gen: number,
    maxTtl: number,
  ): void {
    const base = value === undefined ? (ttl ?? this.#negativeTtl) : (ttl ?? this.#ttl);
    let life = base === undefined ? INF : this.#jitter === 0 ? base : this.#jittered(base);
    if (maxTtl < life) life = maxTtl;
    let slot: Slot<V>;
    if ((tags === undefined || tags.length === 0) && value !== undefined && value !== null) {
      slot = value as NonNullable<V>;
    } else {
      slot = new Entry<V>(value, freezeTags(tags), gen);
      this.#wrapped++;
    }
    if (life === INF) {
      const o = this.#plainSetOptions;
      o.status = undefined;
      this.#lru.set(key, slot, o);
    } else {
      this.#timed = true;
      const o = this.#setOptions;
      o.ttl = life;
      o.status = undefined;
      this.#lru.set(key, slot, o);
    }
    // A size-bounded lru-cache refuses a value larger than maxSize without telling: recount.
    if (this.#sized && slot instanceof Entry && this.#lru.peek(key, { allowStale: true }) !== slot) this.#wrapped--;
    if (this.#pendingEvictions.length !== 0) this.#flushEvictions();
  }

  #jittered(ttl: number): number {
    return ttl * (1 + this.#jitter * (2 * this.#random() - 1));
  }

  #flushEvictions(): void {
    const events = this.#pendingEvictions;
    this.#pendingEvictions = [];
    for (const event of events) this.#evictEvents.emit(event);
  }

  #remove(key: K, slot: Slot<V>, reason: CacheEvictReason): void {
    if (this.#lru.peek(key, { allowStale: true }) !== slot) return;
    this.#lru.delete(key);
    if (this.#evictEvents.size !== 0) this.#evictEvents.emit({ key, value: unwrap(slot), reason });
  }

  #tagsValidNow(slot: Slot<V>): boolean {
    return !(slot instanceof Entry) || slot.tags === undefined || slot.gen >= this.#gen || this.#tagsValid(slot);
  }

  /** Checks an entry's tags against the invalidations since it was stored; remembers a pass. */
  #tagsValid(entry: Entry<V>): boolean {
    if (!this.#tagsValidAt(entry.tags as readonly string[], entry.gen)) return false;
    entry.gen = this.#gen;
    return true;
  }

  #tagsValidAt(tags: readonly string[], gen: number): boolean {
    for (const tag of tags) {
      const invalidated = this.#tagGens.get(tag);
      if (invalidated !== undefined && invalidated > gen) return false;
    }
    return true;
  }

  /**
   * Folds the recorded invalidations into the entries (drops the invalid ones, marks the rest valid) and
   * forgets them, so the record stays bounded. Runs after more invalidations than entries, so each
   * invalidation pays O(1) amortised.
   */
  #sweepTags(): void {
    for (const [key, { value: slot }] of this.#lru.dump()) {
      if (slot instanceof Entry && !this.#tagsValidNow(slot)) this.#remove(key, slot, 'tag');
    }
    // A load started before an invalidation of its tags would store a result that is invalid already; the
    // record that says so is going away, so supersede it now.
    const stale: K[] = [];
    for (const flight of this.#flights.values()) {
      if (flight.tags !== undefined && !this.#tagsValidAt(flight.tags, flight.gen)) stale.push(flight.key);
    }
    for (const key of stale) this.#supersede(key);
    this.#tagGens.clear();
  }
}
