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
  executeWith,
  RUN,
  type Runner,
  startTimer,
  type TimerHandle,
  type Token,
  wrapWith,
} from './internal.js';
import type { PolicyFn, ResiliencePolicy } from './policy.js';

/**
 * One call under a time limit. It is the call's token (fn's signal aborts with the timeout or the parent's
 * reason) and holds the resolvers of the promise the caller gets: whichever of the call, the timer or the
 * parent settles first wins, the others find the call settled. While it runs it is linked into its
 * {@link TimeLimits}' list of deadlines.
 */
class TimedCall<T> extends DerivedToken {
  settled = false;
  resolve: (value: T) => void = ignoreValue;
  reject: (error: unknown) => void = ignoreValue;
  unsubscribe: (() => void) | undefined = undefined;
  /** When the call times out, on the clock of its limits. */
  deadline = 0;
  /** Neighbours in the list of running calls, earliest deadline first. */
  prev: TimedCall<unknown> | undefined = undefined;
  next: TimedCall<unknown> | undefined = undefined;
  linked = false;
  readonly limits: TimeLimits;
  readonly onTimeout: (() => void) | undefined;

  constructor(parent: Token | undefined, limits: TimeLimits, onTimeout: (() => void) | undefined) {
    super(parent);
    this.limits = limits;
    this.onTimeout = onTimeout;
  }

  /** Marks the call settled and releases its deadline and its link to the parent. */
  finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.linked) this.limits.unlink(this as TimedCall<unknown>);
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
  if (!call.finish()) return;
  const error = new TimeoutError({ timeoutMs: call.limits.ms });
  call.abort(error);
  call.onTimeout?.();
  call.reject(error);
}

function onTimer(limits: TimeLimits): void {
  limits.fire();
}

/**
 * The time limit of one policy (a {@link TimeoutPolicy}, or a breaker's `timeout`): its running calls in a
 * list ordered by deadline, and one timer for the earliest. A call costs a clock read and two links
 * instead of a timer of its own; the timer is moved only when it fires.
 *
 * When the last running call settles the timer is cancelled, so a call made now and then leaves no timer
 * behind. On the system clock, when calls come back to back (the timer is armed again within `ms` of the
 * previous call), it is kept instead: unref'd, it fires once at most `ms` later, finds nothing due and
 * stops, so a steady stream of short calls arms a timer about once per `ms` rather than once per call.
 *
 * @internal
 */
export class TimeLimits {
  /** The limit of each call, in ms. */
  readonly ms: number;
  readonly #clock: Clock;
  readonly #system: boolean;
  #head: TimedCall<unknown> | undefined;
  #tail: TimedCall<unknown> | undefined;
  #timer: TimerHandle | undefined;
  /** Keep the timer when the list empties (calls are coming back to back on the system clock). */
  #keep = false;
  /** Start of the latest call. */
  #lastStart = Number.NEGATIVE_INFINITY;

  constructor(ms: number, clock: Clock) {
    this.ms = ms;
    this.#clock = clock;
    this.#system = clock === systemClock;
  }

  /**
   * Runs `fn` with its own token: the call settles with `fn`, or rejects with a {@link TimeoutError} after
   * `ms` (aborting `fn`'s signal with it), or with the parent's reason when the parent aborts. Each call
   * has its own token, so one call's timeout never aborts another.
   */
  run<T>(fn: Callee<T>, parent: Token | undefined, onTimeout: (() => void) | undefined, attempt = 1): Promise<T> {
    if (parent?.aborted) return Promise.reject(parent.reason);
    const call = new TimedCall<T>(parent, this, onTimeout);
    capturing = call as TimedCall<unknown>;
    const promise = new Promise<T>(captureResolvers);
    if (parent !== undefined) {
      call.unsubscribe = parent.subscribe((reason) => {
        if (call.finish()) call.reject(reason);
      });
    }
    this.#link(call as TimedCall<unknown>);
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

  /** Adds a starting call, in deadline order (from the tail: with a monotonic clock it goes last). */
  #link(call: TimedCall<unknown>): void {
    const now = this.#clock.now();
    const deadline = now + this.ms;
    call.deadline = deadline;
    let before = this.#tail;
    while (before !== undefined && before.deadline > deadline) before = before.prev;
    const after = before === undefined ? this.#head : before.next;
    call.prev = before;
    call.next = after;
    if (before === undefined) this.#head = call;
    else before.next = call;
    if (after === undefined) this.#tail = call;
    else after.prev = call;
    call.linked = true;
    // A timer already set fires no later than this deadline: it was set, from an earlier reading of the
    // clock, for a deadline at most `ms` after it; when it fires it is set again for the earliest call.
    if (this.#timer === undefined) {
      this.#keep = this.#system && now - this.#lastStart < this.ms;
      this.#arm(now, deadline);
    }
    this.#lastStart = now;
  }

  /** Removes a settled call; cancels the timer when no call is left, unless calls come back to back. */
  unlink(call: TimedCall<unknown>): void {
    const { prev, next } = call;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    call.prev = undefined;
    call.next = undefined;
    call.linked = false;
    if (this.#head === undefined && this.#timer !== undefined && !this.#keep) {
      cancelTimer(this.#timer);
      this.#timer = undefined;
    }
  }

  /** The timer fired: times out every call whose deadline has passed, then waits for the next one. */
  fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (let call = this.#head; call !== undefined && call.deadline <= now; call = this.#head) fireTimeout(call);
    const head = this.#head;
    // A listener of an aborted signal may have started a call, and armed the timer already.
    if (head !== undefined && this.#timer === undefined) this.#arm(now, head.deadline);
  }

  #arm(now: number, deadline: number): void {
    this.#timer = startTimer(this.#clock, Math.max(0, deadline - now), onTimer, this);
  }
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
 *
 * The running calls share one timer, set for the earliest deadline: a call costs a clock read, not a
 * timer. Once the last call settles the timer is cancelled; on the system clock, while calls come back to
 * back, it is kept instead (unref'd) and stops by itself at most `ms` later.
 */
export class TimeoutPolicy implements ResiliencePolicy {
  /** The time limit of each call, in ms. */
  readonly ms: number;
  readonly #limits: TimeLimits;
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
    this.#limits = new TimeLimits(ms, o.clock ?? systemClock);
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
    return executeWith<T>(this, fn, signal);
  }

  /** Wraps `fn`: the returned function runs it under this policy. */
  wrap<A extends readonly unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T> {
    return wrapWith(this, fn);
  }

  #run<T>(fn: Callee<T>, token: Token | undefined): Promise<T> {
    return this.#limits.run(fn, token, this.#timeouts.size === 0 ? undefined : this.#notify);
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
