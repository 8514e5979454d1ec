/**
 * Time, passed in. Every TTL, lease, expiry, backoff and half-open check in the package reads a `Clock`,
 * so tests and simulations can drive time by hand with {@link ManualClock}.
 */
import { abortReason } from './errors.js';
import { assertNonNegativeNumber, assertOptionalSignal } from './validation.js';

/** A source of time in milliseconds, and a way to wait on it. */
export interface Clock {
  /** Milliseconds on this clock's time line (monotonic for {@link systemClock}). */
  now(): number;
  /**
   * Resolves after `ms` milliseconds of this clock's time; rejects with the signal's reason when `signal`
   * aborts first. The timer is released on abort.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The real clock: `performance.now()` for `now()` (monotonic, immune to wall-clock jumps) and `setTimeout`
 * for `sleep`. A pending sleep keeps the process alive, as any awaited timer does (a retry waiting out its
 * backoff must not let the process exit mid-operation); abort the signal to cancel it and free the timer.
 *
 * @example
 * ```ts
 * import { systemClock } from 'system-design-blocks';
 *
 * const start = systemClock.now();
 * await systemClock.sleep(5);
 * console.log(systemClock.now() - start >= 4);
 * ```
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    assertNonNegativeNumber(ms, 'ms');
    assertOptionalSignal(signal, 'signal');
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(signal as AbortSignal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
});

interface Sleeper {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` moves time forward and wakes the sleepers that fall
 * due, in time order (ties in the order they started sleeping), each seeing `now()` equal to its own due
 * time. Deterministic: the same calls give the same order every run.
 *
 * @example
 * ```ts
 * import { ManualClock } from 'system-design-blocks';
 *
 * const clock = new ManualClock();
 * const woke: number[] = [];
 * void clock.sleep(100).then(() => woke.push(clock.now()));
 * await clock.advanceAsync(150);
 * console.log(woke); // [150]: the sleeper resumes after advance has moved time on
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #sleepers: Sleeper[] = [];

  /** @param start - The time `now()` returns before any advance, in ms. @defaultValue 0 */
  constructor(start = 0) {
    assertNonNegativeNumber(start, 'start');
    this.#now = start;
  }

  /** Current time on this clock, in ms. */
  now(): number {
    return this.#now;
  }

  /** Number of sleepers not yet woken. */
  get pending(): number {
    return this.#sleepers.length;
  }

  /** Resolves when the clock has been advanced by at least `ms`; rejects when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    assertNonNegativeNumber(ms, 'ms');
    assertOptionalSignal(signal, 'signal');
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = {
        at: this.#now + ms,
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const index = this.#sleepers.indexOf(sleeper);
        if (index !== -1) this.#sleepers.splice(index, 1);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#insert(sleeper);
    });
  }

  /**
   * Moves time forward by `ms` and wakes every sleeper due by then, in time order. Sleepers resume in
   * microtasks after this call returns, so a sleeper that sleeps again is not woken by the same call; use
   * {@link ManualClock.advanceAsync} when code under test chains sleeps.
   */
  advance(ms: number): void {
    assertNonNegativeNumber(ms, 'ms');
    const target = this.#now + ms;
    while (this.#sleepers.length > 0 && (this.#sleepers[0] as Sleeper).at <= target) {
      const sleeper = this.#sleepers.shift() as Sleeper;
      this.#now = sleeper.at;
      sleeper.resolve();
    }
    this.#now = target;
  }

  /**
   * Like {@link ManualClock.advance}, but lets pending promise callbacks run after each wake-up, so code
   * that sleeps, works, and sleeps again within the window (retry backoff, leases) is driven to the end.
   */
  async advanceAsync(ms: number): Promise<void> {
    assertNonNegativeNumber(ms, 'ms');
    const target = this.#now + ms;
    await flushMicrotasks();
    while (this.#sleepers.length > 0 && (this.#sleepers[0] as Sleeper).at <= target) {
      const sleeper = this.#sleepers.shift() as Sleeper;
      this.#now = sleeper.at;
      sleeper.resolve();
      await flushMicrotasks();
    }
    this.#now = target;
    await flushMicrotasks();
  }

  /** Advances straight to the earliest pending sleeper, if any, and wakes every sleeper due then. */
  async runNext(): Promise<boolean> {
    const next = this.#sleepers[0];
    if (next === undefined) return false;
    await this.advanceAsync(next.at - this.#now);
    return true;
  }

  #insert(sleeper: Sleeper): void {
    // Binary search on (at, seq): sleepers stay sorted, ties keep arrival order.
    const list = this.#sleepers;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = list[mid] as Sleeper;
      if (other.at < sleeper.at || (other.at === sleeper.at && other.seq < sleeper.seq)) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, sleeper);
  }
}

/**
 * Lets every pending promise callback run: one macrotask turn. Not a sleep: no time passes on any clock.
 */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
