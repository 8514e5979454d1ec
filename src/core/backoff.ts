/**
 * Exponential backoff with jitter, shared by everything that waits between attempts (retry policies, saga
 * compensations). Pure: the caller owns the clock and the random source.
 */
import {
  assertFunction,
  assertNumberInRange,
  assertOneOf,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from './validation.js';

/**
 * How a delay is randomised (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * - `none`: exactly `min(max, initial · multiplier^(attempt-1))`;
 * - `full`: uniform in `[0, that]`, the best spread for many competing clients;
 * - `equal`: half fixed, half uniform, so a retry never comes right away;
 * - `decorrelated`: uniform in `[initial, previous · 3]`, capped, each delay drawn from the last one.
 */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** Options of {@link Backoff}. All durations in ms. */
export interface BackoffOptions {
  /** Delay before the second attempt, in ms. @defaultValue 100 */
  readonly initial?: number;
  /** Upper bound of any delay, in ms. @defaultValue 30_000 */
  readonly max?: number;
  /** Growth per attempt (≥ 1). @defaultValue 2 */
  readonly multiplier?: number;
  /** Randomisation, see {@link Jitter}. @defaultValue 'full' */
  readonly jitter?: Jitter;
  /** Source of uniform numbers in [0, 1); inject a seeded one for reproducible runs. @defaultValue Math.random */
  readonly random?: () => number;
}

/** One retry loop's schedule of delays. */
export interface BackoffSchedule {
  /** The delay in ms before the next attempt; each call moves one attempt on. */
  next(): number;
}

const JITTERS = ['none', 'full', 'equal', 'decorrelated'] as const;

/**
 * A validated backoff schedule. `next()` returns the delay before the following attempt; each retry loop
 * takes its own instance from {@link Backoff.start} since `decorrelated` remembers the previous delay.
 *
 * @example
 * ```ts
 * import { Backoff } from 'system-design-blocks';
 *
 * const schedule = new Backoff({ initial: 100, max: 2_000, jitter: 'none' }).start();
 * console.log([schedule.next(), schedule.next(), schedule.next()]); // [100, 200, 400]
 * ```
 */
export class Backoff {
  /** Delay before the second attempt, in ms. */
  readonly initial: number;
  /** Cap of every delay, in ms. */
  readonly max: number;
  /** Growth factor per attempt. */
  readonly multiplier: number;
  /** Randomisation strategy. */
  readonly jitter: Jitter;
  /** The `random` option, when one was given. */
  readonly #random: (() => number) | undefined;

  /**
   * @param options - Schedule; validated here.
   * @param argument - Name of the options in error messages. @defaultValue 'backoff'
   * @throws {@link ValidationError} naming the option at fault.
   */
  constructor(options?: BackoffOptions, argument = 'backoff') {
    const o = optionsObject(options, argument);
    this.initial = o.initial ?? 100;
    this.max = o.max ?? 30_000;
    this.multiplier = o.multiplier ?? 2;
    this.jitter = o.jitter ?? 'full';
    this.#random = o.random;
    assertPositiveNumber(this.initial, `${argument}.initial`);
    assertPositiveNumber(this.max, `${argument}.max`);
    if (this.max < this.initial) invalid(`${argument}.max`, `a number >= initial (${this.initial})`, this.max);
    assertNumberInRange(this.multiplier, `${argument}.multiplier`, 1, 1e6);
    assertOneOf(this.jitter, `${argument}.jitter`, JITTERS);
    if (this.#random !== undefined) assertFunction(this.#random, `${argument}.random`);
  }

  /** The un-jittered delay before attempt `attempt + 1` (attempt counts from 1), capped at `max`. */
  base(attempt: number): number {
    return Math.min(this.max, this.initial * this.multiplier ** Math.max(0, attempt - 1));
  }

  /**
   * Starts a schedule: each `next()` gives the delay before the following attempt.
   *
   * @param fallbackRandom - The random source to use when this backoff was given none of its own (a caller
   *   that owns many backoffs, like a saga orchestrator, passes its own). @defaultValue Math.random
   */
  start(fallbackRandom?: () => number): BackoffSchedule {
    const random = this.#random ?? fallbackRandom ?? Math.random;
    let attempt = 0;
    let previous = this.initial;
    return {
      next: (): number => {
        attempt++;
        const r = random();
        const base = this.base(attempt);
        switch (this.jitter) {
          case 'none':
            return base;
          case 'full':
            return r * base;
          case 'equal':
            return base / 2 + (r * base) / 2;
          default: {
            const upper = Math.min(this.max, previous * 3);
            previous = Math.min(this.max, this.initial + r * Math.max(0, upper - this.initial));
            return previous;
          }
        }
      },
    };
  }
}
