/**
 * Options of {@link Cache}: the types that make an unbounded cache unwritable, and the one place that fills
 * defaults and validates them.
 */
import { type Clock, systemClock } from '../core/clock.js';
import {
  assertFunction,
  assertNonEmptyString,
  assertNumberInRange,
  assertObject,
  assertOptionalSignal,
  assertPositiveInteger,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from '../core/validation.js';

/** The keys a {@link Cache} accepts: anything but `null` and `undefined` (compared with `SameValueZero`). */
export type CacheKey = NonNullable<unknown>;

/** Options shared by every {@link Cache}, whichever bound it has. All durations in ms. */
export interface CacheCommonOptions {
  /**
   * How long an entry is fresh, in ms. Without it entries never expire (they still leave by eviction).
   * @defaultValue undefined (no expiry)
   */
  readonly ttl?: number;
  /**
   * Spread of each entry's TTL as a fraction in [0, 1): 0.1 draws every TTL uniformly within ±10 %, so
   * entries written together (a warm-up, a flash sale) do not all expire in the same instant.
   * @defaultValue 0
   */
  readonly ttlJitter?: number;
  /**
   * Window after expiry, in ms, in which {@link Cache.getOrLoad} answers at once with the stale value and
   * starts exactly one background refresh.
   * @defaultValue undefined (no stale-while-revalidate)
   */
  readonly staleWhileRevalidate?: number;
  /**
   * Window after expiry, in ms, in which a failed load answers with the stale value instead of failing.
   * @defaultValue undefined (a failed load fails)
   */
  readonly staleIfError?: number;
  /**
   * How long a "not found" (a loader resolving `undefined`) is remembered, in ms. Without it "not found" is
   * returned to the callers but not cached.
   * @defaultValue undefined (no negative caching)
   */
  readonly negativeTtl?: number;
  /** Source of time for every TTL and window. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Source of uniform numbers in [0, 1) for `ttlJitter`; inject a seeded one for reproducible runs. @defaultValue Math.random */
  readonly random?: () => number;
}

/** A cache bounded by its number of entries. */
export interface CacheCountBound {
  /**
   * Most entries kept; the least recently used leaves first (a positive integer, at most 2^32 - 1; lru-cache
   * preallocates its index arrays for this many).
   */
  readonly max: number;
  /** Not used with a count bound. @defaultValue undefined */
  readonly maxSize?: undefined;
  /** Not used with a count bound. @defaultValue undefined */
  readonly sizeOf?: undefined;
}

/**
 * A cache bounded by the total size of its values, as measured by `sizeOf` (bytes, items, any unit).
 *
 * @typeParam K - Key type.
 * @typeParam V - Value type.
 */
export interface CacheSizeBound<K, V> {
  /** Largest total size kept (a positive integer); least recently used entries leave first. */
  readonly maxSize: number;
  /**
   * Size of one value, a positive integer in the unit of `maxSize`. A value larger than `maxSize` is not
   * cached. "Not found" entries count as 1.
   */
  readonly sizeOf: (value: Exclude<V, undefined>, key: K) => number;
  /** An additional bound on the number of entries. @defaultValue undefined (only `maxSize` applies) */
  readonly max?: number;
}

/**
 * Options of {@link Cache}: a bound (`max`, or `maxSize` with `sizeOf`) and the common options. A cache
 * without a bound does not type-check, and is rejected at run time.
 *
 * @typeParam K - Key type.
 * @typeParam V - Value type.
 */
export type CacheOptions<K, V> = CacheCommonOptions & (CacheCountBound | CacheSizeBound<K, V>);

/** Per-entry options of {@link Cache.set}. */
export interface CacheSetOptions {
  /** Freshness of this entry in ms (jittered like the default). @defaultValue the cache's `ttl` */
  readonly ttl?: number;
  /** Tags to invalidate this entry by, with {@link Cache.invalidateTag}. @defaultValue none */
  readonly tags?: readonly string[];
}

/** Options of one {@link Cache.getOrLoad} call. */
export interface CacheLoadOptions extends CacheSetOptions {
  /**
   * Abandons this caller's wait (it rejects with the signal's reason). The load itself is aborted only
   * when every caller waiting for it has abandoned.
   * @defaultValue undefined
   */
  readonly signal?: AbortSignal;
}

/**
 * Options of {@link Cache.memoize}.
 *
 * @typeParam K - Key type of the cache.
 * @typeParam A - Arguments of the memoized function.
 */
export interface CacheMemoizeOptions<K, A extends readonly unknown[]> {
  /** Derives the cache key from the arguments. @defaultValue the first argument */
  readonly key?: (...args: A) => K;
  /** Freshness of the results in ms. @defaultValue the cache's `ttl` */
  readonly ttl?: number;
  /** Tags of every result. @defaultValue none */
  readonly tags?: readonly string[];
}

/** @internal Filled and validated options. */
export interface ResolvedCacheOptions<K, V> {
  readonly max: number | undefined;
  readonly maxSize: number | undefined;
  readonly sizeOf: ((value: Exclude<V, undefined>, key: K) => number) | undefined;
  readonly ttl: number | undefined;
  readonly ttlJitter: number;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
  readonly negativeTtl: number | undefined;
  readonly clock: Clock;
  readonly random: () => number;
}

const MAX_ENTRIES = 2 ** 32 - 1;

function optionalPositive(value: unknown, argument: string): number | undefined {
  if (value === undefined) return undefined;
  assertPositiveNumber(value, argument);
  return value;
}

/** @internal Fills defaults and validates the options of a {@link Cache}. */
export function resolveCacheOptions<K, V>(
  options: CacheOptions<K, V>,
  argument = 'options',
): ResolvedCacheOptions<K, V> {
  if (options === undefined) invalid(argument, 'an options object with a bound (max, or maxSize with sizeOf)', options);
  const o = optionsObject(options, argument) as Partial<CacheCommonOptions & CacheSizeBound<K, V>>;
  const max = o.max;
  const maxSize = o.maxSize;
  const sizeOf = o.sizeOf;
  if (max === undefined && maxSize === undefined) {
    invalid(
      `${argument}.max`,
      'a positive integer (or options.maxSize with options.sizeOf): a cache needs a bound',
      max,
    );
  }
  if (max !== undefined) {
    assertPositiveInteger(max, `${argument}.max`);
    // lru-cache preallocates its arrays for `max` entries; past 2^32 - 1 it fails with a bare RangeError.
    if (max > MAX_ENTRIES) invalid(`${argument}.max`, `a positive integer <= ${MAX_ENTRIES}`, max);
  }
  if (maxSize !== undefined) {
    assertPositiveInteger(maxSize, `${argument}.maxSize`);
    if (sizeOf === undefined) invalid(`${argument}.sizeOf`, 'a function (required with maxSize)', sizeOf);
  }
  if (sizeOf !== undefined) {
    assertFunction(sizeOf, `${argument}.sizeOf`);
    if (maxSize === undefined) invalid(`${argument}.maxSize`, 'a positive integer (required with sizeOf)', maxSize);
  }
  const ttl = optionalPositive(o.ttl, `${argument}.ttl`);
  const ttlJitter = o.ttlJitter ?? 0;
  assertNumberInRange(ttlJitter, `${argument}.ttlJitter`, 0, 1, false);
  const staleWhileRevalidate = optionalPositive(o.staleWhileRevalidate, `${argument}.staleWhileRevalidate`) ?? 0;
  const staleIfError = optionalPositive(o.staleIfError, `${argument}.staleIfError`) ?? 0;
  const negativeTtl = optionalPositive(o.negativeTtl, `${argument}.negativeTtl`);
  const clock = o.clock ?? systemClock;
  assertObject(clock, `${argument}.clock`);
  assertFunction(clock.now, `${argument}.clock.now`);
  const random = o.random ?? Math.random;
  assertFunction(random, `${argument}.random`);
  return {
    max,
    maxSize,
    sizeOf,
    ttl,
    ttlJitter,
    staleWhileRevalidate,
    staleIfError,
    negativeTtl,
    clock,
    random,
  };
}

/** @internal Validates a per-entry TTL. */
export function checkTtl(ttl: unknown, argument: string): void {
  if (ttl !== undefined) assertPositiveNumber(ttl, argument);
}

/** @internal Validates a tag list. */
export function checkTags(tags: unknown, argument: string): void {
  if (tags === undefined) return;
  if (!Array.isArray(tags)) invalid(argument, 'an array of non-empty strings', tags);
  for (let i = 0; i < tags.length; i++) assertNonEmptyString(tags[i], `${argument}[${i}]`);
}

/** @internal Validates the options of {@link Cache.set}. */
export function checkSetOptions(options: CacheSetOptions | undefined, argument: string): void {
  if (options === undefined) return;
  optionsObject(options, argument);
  checkTtl(options.ttl, `${argument}.ttl`);
  checkTags(options.tags, `${argument}.tags`);
}

/** @internal Validates the options of {@link Cache.getOrLoad}. */
export function checkLoadOptions(options: CacheLoadOptions | undefined, argument: string): void {
  if (options === undefined) return;
  checkSetOptions(options, argument);
  assertOptionalSignal(options.signal, `${argument}.signal`);
}
