/**
 * Time limits: a call that has not settled within `ms` is abandoned with a {@link TimeoutError} and its
 * signal is aborted, so the work behind it can stop.
 */
import { type Clock, Emitter, systemClock } from '../core/index.js';
import { assertPositiveNumber, optionsObject } from '../core/validation.js';
import { TimeoutError } from './errors.js';
import {
  type Callee,
  callNext,
  cancelTimer,
  DerivedToken,
  RUN,
  type Runner,
  rejectIfNotFunction,
  startTimer,
  type TimerHandle,
  type Token,
  tokenFromSignal,
  wrapWith,
} from './internal.js';
import type { PolicyFn, ResiliencePolicy } from './policy.js';

/**
 * One call under a time limit. It is the call's token (fn's signal aborts with the timeout or the parent's
 * reason) and holds the resolvers of the promise the caller gets: whichever of the call, the timer or the
 * parent settles first wins, the others find the call settled.
 */
class TimedCall<T> extends DerivedToken {
  settled = false;
  resolve: (value: T) => void = ignoreValue;
  reject: (error: unknown) => void = ignoreValue;
  timer: TimerHandle | undefined;
  unsubscribe: (() => void) | undefined;
  readonly timeoutMs: number;
  readonly onTimeout: (() => void) | undefined;

  constructor(parent: Token | undefined, timeoutMs: number, onTimeout: (() => void) | undefined) {
    super(parent);
    this.timeoutMs = timeoutMs;
    this.onTimeout = onTimeout;
  }

  /** Marks the call settled and releases its timer and its link to the parent. */
  finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== undefined) cancelTimer(this.timer);
    this.unsubscribe?.();
    this.release();
    return true;
  }
}

function ignoreValue(): void {}

/**
 * The call whose resolvers {@link captureResolvers} stores. A promise executor runs synchronously, so a
 * module-level slot hands it the call without allocating a closure per call.
 */
let capturing: TimedCall<unknown> | undefined;

function captureResolvers(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  const call = capturing as TimedCall<unknown>;
  capturing = undefined;
  call.resolve = resolve as (value: unknown) => void;
  call.reject = reject;
}

function fireTimeout(call: TimedCall<unknown>): void {
  call.timer = undefined;
  if (!call.finish()) return;
  const error = new TimeoutError({ timeoutMs: call.timeoutMs });
  call.abort(error);
  call.onTimeout?.();
  call.reject(error);
}

/**
 * Runs `fn` with its own token: the call settles with `fn`, or rejects with a {@link TimeoutError} after
 * `timeoutMs` (aborting `fn`'s signal with it), or with the parent's reason when the parent aborts. Each
 * call has its own token, so one call's timeout never aborts another.
 *
 * @internal
 */
export function guardedCall<T>(
  fn: Callee<T>,
  parent: Token | undefined,
  timeoutMs: number,
  clock: Clock,
  onTimeout: (() => void) | undefined,
  attempt = 1,
): Promise<T> {
  if (parent?.aborted) return Promise.reject(parent.reason);
  const call = new TimedCall<T>(parent, timeoutMs, onTimeout);
  capturing = call as TimedCall<unknown>;
  const promise = new Promise<T>(captureResolvers);
  if (parent !== undefined) {
    call.unsubscribe = parent.subscribe((reason) => {
      if (call.finish()) call.reject(reason);
    });
  }
  call.timer = startTimer(clock, timeoutMs, fireTimeout, call as TimedCall<unknown>);
  callNext(fn, call, attempt).then(
    (value) => {
      if (call.finish()) call.resolve(value);
    },
    (error: unknown) => {
      if (call.finish()) call.reject(error);
    },
  );
  return promise;
}

/** Options of {@link timeout}. */
export interface TimeoutOptions {
  /** Where time comes from. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Payload of {@link TimeoutPolicy.onTimeout}. */
export interface TimeoutEvent {
  /** The limit that was exceeded, in ms. */
  readonly timeoutMs: number;
}

/**
 * Gives each call at most `ms` milliseconds. Use it innermost in a pipeline so that every attempt gets its
 * own limit and a breaker around it counts the timeouts. Build one with {@link timeout}.
 */
export class TimeoutPolicy implements ResiliencePolicy {
  /** The time limit of each call, in ms. */
  readonly ms: number;
  readonly #clock: Clock;
  readonly #timeouts = new Emitter<TimeoutEvent>();
  readonly #notify = (): void => this.#timeouts.emit({ timeoutMs: this.ms });

  /** Subscribes to calls that timed out; returns the handle that unsubscribes. */
  readonly onTimeout = this.#timeouts.subscribe;

  /**
   * @param ms - Time limit per call, in ms.
   * @param options - The clock.
   * @throws `ValidationError` when `ms` is not a positive number or the options are malformed.
   */
  constructor(ms: number, options?: TimeoutOptions) {
    const o = optionsObject(options, 'options');
    assertPositiveNumber(ms, 'ms');
    this.ms = ms;
    this.#clock = o.clock ?? systemClock;
  }

  static {
    const run: Runner = function (this: TimeoutPolicy, fn, token) {
      return this.#run(fn, token);
    };
    Object.defineProperty(TimeoutPolicy.prototype, RUN, { value: run });
  }

  /**
   * Runs `fn`; rejects with {@link TimeoutError} when it takes longer than {@link TimeoutPolicy.ms}, and
   * aborts the signal `fn` received.
   *
   * @param fn - The guarded call.
   * @param signal - Cancels the call.
   * @throws {@link TimeoutError} when the limit is reached; the signal's reason when `signal` aborts.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    const bad = rejectIfNotFunction(fn);
    if (bad !== undefined) return bad;
    let token: Token | undefined;
    try {
      token = tokenFromSignal(signal);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    return this.#run(fn, token);
  }

  /** Wraps `fn`: the returned function runs it under this policy. */
  wrap<A extends readonly unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T> {
    return wrapWith(this, fn);
  }

  #run<T>(fn: Callee<T>, token: Token | undefined): Promise<T> {
    return guardedCall(fn, token, this.ms, this.#clock, this.#timeouts.size === 0 ? undefined : this.#notify);
  }
}

/**
 * A policy that rejects calls taking longer than `ms` with {@link TimeoutError}, and aborts the signal
 * they received.
 *
 * @param ms - Time limit per call, in ms.
 * @param options - The clock.
 * @throws `ValidationError` when `ms` is not a positive number.
 * @example
 * ```ts
 * import { timeout } from 'system-design-blocks/resilience';
 *
 * const limited = timeout(2_000);
 * const body = await limited.execute(({ signal }) => fetch('https://example.com', { signal }).then((r) => r.text()));
 * console.log(body.length);
 * ```
 */
export function timeout(ms: number, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
