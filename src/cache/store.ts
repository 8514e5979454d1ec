/**
 * The shared second tier behind a {@link TieredCache}: the {@link CacheStore} interface a Redis (or any
 * other) store implements, and {@link MemoryCacheStore}, the in-memory default.
 */
import { LRUCache } from 'lru-cache';
import { type Clock, systemClock } from '../core/clock.js';
import { type Disposable, Emitter, type Listener } from '../core/events.js';
import {
  assertFunction,
  assertObject,
  assertPositiveInteger,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from '../core/validation.js';
import { lruPerf } from './cache.js';

/**
 * A value read from a {@link CacheStore}.
 *
 * @typeParam V - Value type.
 */
export interface CacheStoreHit<V> {
  /** The stored value. */
  readonly value: V;
  /** Time it has left in the store, in ms (> 0). */
  readonly ttl: number;
}

/** Options of {@link CacheStore.delete}. */
export interface CacheStoreWriteOptions {
  /**
   * Who writes, echoed in the {@link CacheStoreEvent} so a writer can ignore its own invalidations.
   * @defaultValue undefined
   */
  readonly origin?: string;
}

/** Options of {@link CacheStore.set}. */
export interface CacheStoreSetOptions extends CacheStoreWriteOptions {
  /** How long the store keeps the value, in ms (a finite number > 0; a shared tier always has a retention). */
  readonly ttl: number;
}

/** A change announced by a {@link CacheStore} to its subscribers, so in-process tiers can drop their copy. */
export interface CacheStoreEvent {
  /** What happened to the key. */
  readonly type: 'set' | 'delete';
  /** The store key. */
  readonly key: string;
  /** The writer's `origin`, if it gave one. */
  readonly origin: string | undefined;
}

/**
 * A shared cache tier (Redis, Memcached, a database table): string keys, values with a TTL, each operation
 * async and atomic. `subscribe` is optional: a store that can broadcast changes (Redis pub/sub) lets every
 * process drop its in-process copy when another one writes. Any implementation must pass
 * {@link runCacheStoreContract}.
 *
 * @typeParam V - Value type (what the store can hold; JSON for a networked store).
 */
export interface CacheStore<V> {
  /**
   * The value of `key` and its remaining TTL, or `undefined` when absent or expired.
   *
   * @param key - The store key.
   */
  get(key: string): Promise<CacheStoreHit<V> | undefined>;
  /**
   * Stores `value` under `key` for `options.ttl` ms, replacing any previous value and TTL, and announces a
   * `set` event.
   *
   * @param key - The store key.
   * @param value - The value (not `undefined`).
   * @param options - TTL and origin.
   * @throws `ValidationError` (as a rejection) on an `undefined` value or a bad TTL.
   */
  set(key: string, value: V, options: CacheStoreSetOptions): Promise<void>;
  /**
   * Removes `key` and announces a `delete` event (even when it was absent: another process may still hold
   * a copy).
   *
   * @param key - The store key.
   * @param options - Origin of the write.
   * @returns True when a value was removed.
   */
  delete(key: string, options?: CacheStoreWriteOptions): Promise<boolean>;
  /**
   * Listens to the changes of every writer (this process' included; filter on `origin`).
   *
   * @param listener - Called once per change.
   * @returns The handle that stops the listening.
   */
  subscribe?(listener: Listener<CacheStoreEvent>): Disposable;
}

/** Options of {@link MemoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /** Most keys held; the least recently used leaves first. @defaultValue 10_000 */
  readonly max?: number;
  /** Source of time for the TTLs. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** The stored box: lru-cache cannot hold falsy-looking values like `null` directly. */
interface Box<V> {
  readonly value: V;
}

/** @internal Validates the key and write options shared by stores. */
export function checkStoreKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') invalid('key', 'a string', key);
}

/**
 * The in-memory {@link CacheStore}: bounded by lru-cache, expiring on the injected clock, announcing its
 * changes synchronously to subscribers. The default second tier of {@link TieredCache}, and a stand-in for
 * Redis in tests and simulations (several `TieredCache`s sharing one store behave like processes sharing
 * one Redis). Values are held by reference, not copied.
 *
 * @typeParam V - Value type.
 * @example
 * ```ts
 * import { MemoryCacheStore } from 'system-design-blocks/cache';
 *
 * const store = new MemoryCacheStore<string>({ max: 1_000 });
 * await store.set('greeting', 'hello', { ttl: 60_000 });
 * console.log((await store.get('greeting'))?.value); // hello
 * ```
 */
export class MemoryCacheStore<V> implements CacheStore<V> {
  readonly #lru: LRUCache<string, Box<V>>;
  readonly #events = new Emitter<CacheStoreEvent>();

  /**
   * @param options - Bound and clock; validated here.
   * @throws `ValidationError` on a bad `max` or `clock`.
   */
  constructor(options?: MemoryCacheStoreOptions) {
    const o = optionsObject(options, 'options');
    const max = o.max ?? 10_000;
    assertPositiveInteger(max, 'options.max');
    const clock = o.clock ?? systemClock;
    assertObject(clock, 'options.clock');
    assertFunction(clock.now, 'options.clock.now');
    // Here lru-cache's own TTL fits: plain expiry, no stale windows. `perf` makes it read our clock (shifted
    // off 0, which lru-cache takes for "no TTL"), and `ttlResolution: 0` stops it caching `now()` behind a
    // real timer.
    this.#lru = new LRUCache<string, Box<V>>({ max, ttlResolution: 0, perf: lruPerf(clock) });
  }

  /** Keys held now (expired ones leave when read). */
  get size(): number {
    return this.#lru.size;
  }

  /** {@inheritDoc CacheStore.get} */
  async get(key: string): Promise<CacheStoreHit<V> | undefined> {
    checkStoreKey(key);
    const box = this.#lru.get(key);
    if (box === undefined) return undefined;
    const ttl = this.#lru.getRemainingTTL(key);
    return { value: box.value, ttl };
  }

  /** {@inheritDoc CacheStore.set} */
  async set(key: string, value: V, options: CacheStoreSetOptions): Promise<void> {
    checkStoreKey(key);
    if (value === undefined) invalid('value', 'a value other than undefined', value);
    const o = optionsObject(options, 'options');
    assertPositiveNumber(o.ttl, 'options.ttl');
    checkOrigin(o.origin);
    // lru-cache counts whole milliseconds; round up so a value never leaves before its TTL.
    this.#lru.set(key, { value }, { ttl: Math.ceil(o.ttl) });
    this.#events.emit({ type: 'set', key, origin: o.origin });
  }

  /** {@inheritDoc CacheStore.delete} */
  async delete(key: string, options?: CacheStoreWriteOptions): Promise<boolean> {
    checkStoreKey(key);
    const o = optionsObject(options, 'options');
    checkOrigin(o.origin);
    // An expired value still sits in lru-cache until read; it does not count as removed.
    const present = this.#lru.has(key);
    this.#lru.delete(key);
    this.#events.emit({ type: 'delete', key, origin: o.origin });
    return present;
  }

  /** {@inheritDoc CacheStore.subscribe} */
  subscribe(listener: Listener<CacheStoreEvent>): Disposable {
    return this.#events.subscribe(listener);
  }
}

function checkOrigin(origin: unknown): void {
  if (origin !== undefined && typeof origin !== 'string') invalid('options.origin', 'a string or undefined', origin);
}
