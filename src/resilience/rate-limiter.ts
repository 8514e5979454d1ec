/**
 * A token bucket on the injectable clock: `capacity` tokens, refilled continuously at `refillPerSecond`.
 */
import { type Clock, systemClock } from '../core/index.js';
import { assertNonNegativeInteger, assertObject, assertPositiveNumber, invalid } from '../core/validation.js';
import { RateLimitedError } from './errors.js';
import {
  type Callee,
  callNext,
  executeWith,
  RUN,
  type Runner,
  raceToken,
  type Token,
  tokenFromSignal,
  wrapWith,
} from './internal.js';
import type { PolicyFn, ResiliencePolicy } from './policy.js';

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Bucket size: the largest burst, in tokens (> 0). */
  readonly capacity: number;
  /** Tokens added per second (> 0): the sustained rate. */
  readonly refillPerSecond: number;
  /** Tokens in the bucket at creation. @defaultValue capacity */
  readonly initialTokens?: number;
  /** Callers allowed to wait in {@link RateLimiter.take}; the next one is rejected at once. @defaultValue 1000 */
  readonly maxWaiting?: number;
  /** Where time comes from. @defaultValue systemClock */
  readonly clock?: Clock;
}

interface Waiter {
  readonly n: number;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  unsubscribe: (() => void) | undefined;
}

/** Float slack so that a refill computed from a rounded delay still counts as complete. */
const EPSILON = 1e-9;

/**
 * Limits the rate of calls: a bucket of `capacity` tokens refilled at `refillPerSecond`. Each call takes
 * tokens: {@link RateLimiter.tryTake} answers at once, {@link RateLimiter.take} waits its turn (FIFO, so
 * a large request is not starved by small ones), and {@link RateLimiter.execute} sheds the call with
 * {@link RateLimitedError} when no token is free. Time comes from the injectable clock; no timer runs
 * unless someone is waiting.
 *
 * @example
 * ```ts
 * import { RateLimiter } from 'system-design-blocks/resilience';
 *
 * // Flash sale: 200 checkouts per second, bursts of 50.
 * const checkouts = new RateLimiter({ capacity: 50, refillPerSecond: 200 });
 * if (checkouts.tryTake()) console.log('proceed to checkout');
 * else console.log('queue page: please wait');
 * await checkouts.take(1); // or wait for a token, in arrival order
 * ```
 */
export class RateLimiter implements ResiliencePolicy {
  /** Bucket size, in tokens. */
  readonly capacity: number;
  /** Tokens added per second. */
  readonly refillPerSecond: number;
  /** Callers allowed to wait. */
  readonly maxWaiting: number;
  readonly #clock: Clock;
  #tokens: number;
  #refilledAt: number;
  readonly #waiters: Waiter[] = [];
  #pump: AbortController | undefined;

  /**
   * @param options - Capacity, rate, initial tokens, waiting bound, clock.
   * @throws `ValidationError` naming the option at fault.
   */
  constructor(options: RateLimiterOptions) {
    assertObject(options, 'options');
    assertPositiveNumber(options.capacity, 'options.capacity');
    assertPositiveNumber(options.refillPerSecond, 'options.refillPerSecond');
    const initial = options.initialTokens ?? options.capacity;
    if (typeof initial !== 'number' || !Number.isFinite(initial) || initial < 0 || initial > options.capacity) {
      invalid('options.initialTokens', `a number in [0, capacity (${options.capacity})]`, initial);
    }
    const maxWaiting = options.maxWaiting ?? 1000;
    assertNonNegativeInteger(maxWaiting, 'options.maxWaiting');
    const clock = options.clock ?? systemClock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      invalid('options.clock', 'a Clock', clock);
    }
    this.capacity = options.capacity;
    this.refillPerSecond = options.refillPerSecond;
    this.maxWaiting = maxWaiting;
    this.#clock = clock;
    this.#tokens = initial;
    this.#refilledAt = clock.now();
  }

  static {
    const run: Runner = function (this: RateLimiter, fn, token) {
      return this.#run(fn, token);
    };
    Object.defineProperty(RateLimiter.prototype, RUN, { value: run });
  }

  /** Tokens in the bucket now (fractional while refilling). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Callers waiting in {@link RateLimiter.take}. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Takes `n` tokens if they are there now and nobody is waiting ahead; never waits.
   *
   * @param n - Tokens to take (> 0, at most `capacity`). @defaultValue 1
   * @returns Whether the tokens were taken.
   * @throws `ValidationError` when `n` is out of range.
   */
  tryTake(n = 1): boolean {
    this.#checkAmount(n);
    if (this.#waiters.length > 0) return false;
    this.#refill();
    if (this.#tokens + EPSILON < n) return false;
    this.#tokens = Math.max(0, this.#tokens - n);
    return true;
  }

  /**
   * Waits until `n` tokens are available and takes them. Callers are served in arrival order.
   *
   * @param n - Tokens to take (> 0, at most `capacity`). @defaultValue 1
   * @param signal - Stops waiting: rejects with the signal's reason and gives the turn to the next caller.
   * @throws {@link RateLimitedError} at once when `maxWaiting` callers already wait;
   *   `ValidationError` when `n` is out of range.
   */
  take(n = 1, signal?: AbortSignal): Promise<void> {
    let token: Token | undefined;
    try {
      this.#checkAmount(n);
      token = tokenFromSignal(signal);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    if (token?.aborted) return Promise.reject(token.reason);
    if (this.tryTake(n)) return Promise.resolve();
    if (this.#waiters.length >= this.maxWaiting) {
      const ahead = this.#waiters.reduce((sum, w) => sum + w.n, 0);
      return Promise.reject(new RateLimitedError({ requested: n, retryAfterMs: this.#wait(ahead + n) }));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { n, resolve, reject, unsubscribe: undefined };
      if (token !== undefined) {
        waiter.unsubscribe = token.subscribe((reason) => {
          const index = this.#waiters.indexOf(waiter);
          if (index === -1) return;
          this.#waiters.splice(index, 1);
          reject(reason);
          if (index === 0) this.#schedule();
        });
      }
      this.#waiters.push(waiter);
      if (this.#waiters.length === 1) this.#schedule();
    });
  }

  /**
   * Runs `fn` if a token is free now; otherwise rejects at once with {@link RateLimitedError} (load
   * shedding). To wait for a token instead, `await limiter.take()` first.
   *
   * @param fn - The guarded call.
   * @param signal - Cancels the call.
   * @throws {@link RateLimitedError} when no token is free.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    return executeWith<T>(this, fn, signal);
  }

  /** Wraps `fn`: the returned function runs it under this policy. */
  wrap<A extends readonly unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T> {
    return wrapWith(this, fn);
  }

  #run<T>(fn: Callee<T>, token: Token | undefined): Promise<T> {
    if (token?.aborted) return Promise.reject(token.reason);
    if (!this.tryTake(1)) {
      const ahead = this.#waiters.reduce((sum, w) => sum + w.n, 0);
      return Promise.reject(new RateLimitedError({ requested: 1, retryAfterMs: this.#wait(ahead + 1) }));
    }
    return raceToken(callNext(fn, token, 1), token);
  }

  #checkAmount(n: number): void {
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > this.capacity) {
      invalid('n', `a number in (0, capacity (${this.capacity})]`, n);
    }
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#refilledAt;
    if (elapsed <= 0) return;
    this.#refilledAt = now;
    this.#tokens = Math.min(this.capacity, this.#tokens + (elapsed * this.refillPerSecond) / 1000);
  }

  /** Milliseconds until `n` tokens are in the bucket, from the current level. */
  #wait(n: number): number {
    this.#refill();
    return Math.max(0, ((n - this.#tokens) * 1000) / this.refillPerSecond);
  }

  /** Serves the waiters whose tokens are there, then sleeps until the head's tokens will be. */
  #schedule(): void {
    this.#pump?.abort();
    this.#pump = undefined;
    this.#refill();
    for (;;) {
      const head = this.#waiters[0];
      if (head === undefined) return;
      if (this.#tokens + EPSILON < head.n) break;
      this.#tokens = Math.max(0, this.#tokens - head.n);
      this.#waiters.shift();
      head.unsubscribe?.();
      head.resolve();
    }
    const head = this.#waiters[0] as Waiter;
    const pump = new AbortController();
    this.#pump = pump;
    this.#clock.sleep(this.#wait(head.n), pump.signal).then(
      () => {
        if (this.#pump === pump) this.#schedule();
      },
      () => {},
    );
  }
}
