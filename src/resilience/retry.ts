/**
 * Retries with exponential backoff and jitter (core {@link Backoff}), sleeping on the injectable clock.
 */
import {
  Backoff,
  type BackoffOptions,
  type BackoffSchedule,
  type Clock,
  Emitter,
  isValidationError,
  systemClock,
} from '../core/index.js';
import { assertFunction, assertPositiveInteger, invalid, optionsObject } from '../core/validation.js';
import { isCapacityRejection, isCircuitOpenError, RetryExhaustedError } from './errors.js';
import { type Callee, callNext, executeWith, RUN, type Runner, raceToken, type Token, wrapWith } from './internal.js';
import type { PolicyFn, ResiliencePolicy } from './policy.js';

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Calls of `fn` in total, the first one included (≥ 1). @defaultValue 3 */
  readonly maxAttempts?: number;
  /**
   * Delays between attempts: `initial`, `max` (ms), `multiplier`, `jitter` (`'full'`, `'equal'`,
   * `'decorrelated'` or `'none'`) and a `random` source for reproducible runs.
   * @defaultValue `{ initial: 100, max: 30_000, multiplier: 2, jitter: 'full' }`
   */
  readonly backoff?: BackoffOptions;
  /**
   * Whether an attempt's error is worth another attempt; `attempt` is the attempt that failed (1-based).
   * @defaultValue {@link defaultRetryIf}: everything but open circuits, capacity rejections and bad input
   */
  readonly retryIf?: (error: unknown, attempt: number) => boolean;
  /** Where the backoff sleeps happen. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Payload of {@link RetryPolicy.onRetry}. */
export interface RetryEvent {
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  /** Its error. */
  readonly error: unknown;
  /** The wait before the next attempt, in ms. */
  readonly delayMs: number;
}

/**
 * The default `retryIf`: retries every error except those a retry would defeat: {@link CircuitOpenError}
 * (the breaker is failing fast on purpose), {@link BulkheadRejectedError} and {@link RateLimitedError}
 * (load is being shed), and `ValidationError` (bad input fails again).
 *
 * @param error - An attempt's error.
 */
export function defaultRetryIf(error: unknown): boolean {
  return !isCircuitOpenError(error) && !isCapacityRejection(error) && !isValidationError(error);
}

/**
 * Calls `fn` again after a failure, up to `maxAttempts` times, waiting a jittered exponential delay between
 * attempts. Stops at once when the caller's signal aborts, and never retries an error `retryIf` rejects
 * (that error is thrown as it is). When every attempt failed it throws {@link RetryExhaustedError} with all
 * the attempts' errors. Build one with {@link retry}.
 */
export class RetryPolicy implements ResiliencePolicy {
  /** Calls of `fn` in total, the first one included. */
  readonly maxAttempts: number;
  /** The validated backoff schedule. */
  readonly backoff: Backoff;
  readonly #retryIf: (error: unknown, attempt: number) => boolean;
  readonly #clock: Clock;
  readonly #retries = new Emitter<RetryEvent>();

  /** Subscribes to retries: called before each wait, with the failed attempt and the delay. */
  readonly onRetry = this.#retries.subscribe;

  /**
   * @param options - Attempts, backoff, predicate, clock.
   * @throws `ValidationError` naming the option at fault.
   */
  constructor(options?: RetryOptions) {
    const o = optionsObject(options, 'options');
    this.maxAttempts = o.maxAttempts ?? 3;
    assertPositiveInteger(this.maxAttempts, 'options.maxAttempts');
    this.backoff = new Backoff(o.backoff, 'options.backoff');
    this.#retryIf = o.retryIf ?? defaultRetryIf;
    assertFunction(this.#retryIf, 'options.retryIf');
    this.#clock = o.clock ?? systemClock;
    if (typeof this.#clock !== 'object' || this.#clock === null || typeof this.#clock.sleep !== 'function') {
      invalid('options.clock', 'a Clock', this.#clock);
    }
  }

  static {
    const run: Runner = function (this: RetryPolicy, fn, token) {
      return this.#run(fn, token);
    };
    Object.defineProperty(RetryPolicy.prototype, RUN, { value: run });
  }

  /**
   * Runs `fn`, retrying as configured; `fn` receives the attempt number.
   *
   * @param fn - The call to retry.
   * @param signal - Stops the retries: rejects with the signal's reason, during an attempt or a wait.
   * @throws {@link RetryExhaustedError} when every attempt failed; the error itself when `retryIf`
   *   rejects it; the signal's reason when aborted.
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
    const first = raceToken(callNext(fn, token, 1), token);
    return first.then(undefined, (error: unknown) => this.#again(fn, token, error));
  }

  async #again<T>(fn: Callee<T>, token: Token | undefined, firstError: unknown): Promise<T> {
    const errors: unknown[] = [firstError];
    let error = firstError;
    let schedule: BackoffSchedule | undefined;
    for (let attempt = 1; ; attempt++) {
      if (token?.aborted) throw token.reason;
      if (!this.#retryIf(error, attempt)) throw error;
      if (attempt >= this.maxAttempts) throw new RetryExhaustedError({ errors });
      schedule ??= this.backoff.start();
      const delayMs = schedule.next();
      if (this.#retries.size > 0) this.#retries.emit({ attempt, error, delayMs });
      try {
        await this.#clock.sleep(delayMs, token?.signal);
      } catch (sleepError: unknown) {
        throw token?.aborted ? token.reason : sleepError;
      }
      try {
        return await raceToken(callNext(fn, token, attempt + 1), token);
      } catch (next: unknown) {
        error = next;
        errors.push(next);
      }
    }
  }
}

/**
 * A retry policy: up to `maxAttempts` calls with jittered exponential backoff between them.
 *
 * @param options - Attempts, backoff, predicate, clock.
 * @throws `ValidationError` naming the option at fault.
 * @example
 * ```ts
 * import { retry } from 'system-design-blocks/resilience';
 *
 * const withRetries = retry({ maxAttempts: 4, backoff: { initial: 200, max: 2_000, jitter: 'full' } });
 * withRetries.onRetry((e) => console.log(`attempt ${e.attempt} failed, retrying in ${Math.round(e.delayMs)} ms`));
 * const status = await withRetries.execute(async ({ attempt, signal }) => {
 *   const response = await fetch('https://gateway.example/status', { signal });
 *   if (!response.ok) throw new Error(`HTTP ${response.status} on attempt ${attempt}`);
 *   return response.status;
 * });
 * console.log(status);
 * ```
 */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
