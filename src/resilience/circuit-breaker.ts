/**
 * A circuit breaker on opossum. Opossum keeps the rolling window of outcomes and decides when the failure
 * rate trips the breaker; this class runs it lean (no latency percentiles, no snapshot timer, no bucket
 * or reset timers of its own, a constant-time `stats`), runs the calls itself and records them in
 * opossum's window (see `LeanOpossum`), and owns what needs the injectable clock: bucket rotation, the
 * open period, the half-open probe and per-call timeouts.
 *
 * Each closed period gets a fresh opossum instance. When it trips, the instance is shut down, so results
 * of calls started before a state change land on a dead instance and cannot flip the new state.
 */
import { EventEmitter } from 'node:events';
import Opossum from 'opossum';
import { Backoff, type Clock, Emitter, systemClock } from '../core/index.js';
import {
  assertFunction,
  assertNonEmptyString,
  assertNonNegativeInteger,
  assertNonNegativeNumber,
  assertNumberInRange,
  assertObject,
  assertPositiveInteger,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from '../core/validation.js';
import { CircuitOpenError, type CircuitOpenReason, isCapacityRejection } from './errors.js';
import {
  type Callee,
  callNext,
  executeWith,
  RUN,
  type Runner,
  raceToken,
  safePredicate,
  type Token,
  wrapWith,
} from './internal.js';
import type { PolicyFn, ResiliencePolicy } from './policy.js';
import { TimeLimits } from './timeout.js';

/** The state of a breaker: `closed` lets calls through, `open` fails fast, `halfOpen` lets one probe through. */
export type CircuitState = 'closed' | 'open' | 'halfOpen';

/** An open period that grows with each consecutive re-open: `min(max, initial · multiplier^(n-1))`. */
export interface ResetAfterOptions {
  /** Open period after the first trip, in ms. */
  readonly initial: number;
  /** Cap of the open period, in ms. */
  readonly max: number;
  /** Growth per consecutive re-open (≥ 1). @defaultValue 2 */
  readonly multiplier?: number;
}

/** Counts of the rolling window. */
export interface CircuitWindowCounts {
  /**
   * Calls in the window (opossum's `fires`): the calls running now, and the calls that settled within the
   * window, each counted in the bucket where it settled.
   */
  readonly calls: number;
  /** Calls that succeeded, or failed with an error that does not count as a failure. */
  readonly successes: number;
  /** Calls that failed or timed out. */
  readonly failures: number;
}

/**
 * A breaker's state as plain JSON (from {@link CircuitBreaker.toJSON}), to restore after a restart with the
 * `initialState` option. Durations are relative (`remainingMs`), so the snapshot survives a change of clock.
 */
export type CircuitBreakerSnapshot =
  | {
      /** Format version of the snapshot. */
      readonly version: 1;
      /** The breaker was closed. */
      readonly state: 'closed';
      /** The window's counts; restored into the newest bucket. */
      readonly window: CircuitWindowCounts;
    }
  | {
      /** Format version of the snapshot. */
      readonly version: 1;
      /** The breaker was open, waiting to half-open. */
      readonly state: 'open';
      /** Not held open by {@link CircuitBreaker.isolate}. */
      readonly isolated: false;
      /** Opens in a row without a close, which sets the next open period. */
      readonly consecutiveOpens: number;
      /** Milliseconds left until the breaker half-opens. */
      readonly remainingMs: number;
    }
  | {
      /** Format version of the snapshot. */
      readonly version: 1;
      /** The breaker was open. */
      readonly state: 'open';
      /** Held open by {@link CircuitBreaker.isolate} until {@link CircuitBreaker.reset}. */
      readonly isolated: true;
      /** Opens in a row without a close. */
      readonly consecutiveOpens: number;
    }
  | {
      /** Format version of the snapshot. */
      readonly version: 1;
      /** The breaker was half-open; it restarts half-open, with no probe in flight. */
      readonly state: 'halfOpen';
      /** Opens in a row without a close. */
      readonly consecutiveOpens: number;
    };

/** Options of {@link CircuitBreaker}. All durations in ms. */
export interface CircuitBreakerOptions<F = never> {
  /** Name used in errors, events and stats. @defaultValue 'circuit' */
  readonly name?: string;
  /**
   * Failure rate, in percent of the calls in the window, above which the breaker opens. Opossum's rule:
   * it trips when the rate is strictly above this value, checked when a failure completes; 100 never
   * trips on the rate.
   * @defaultValue 50
   */
  readonly failureThreshold?: number;
  /** Calls the window must hold before the failure rate can open the breaker. @defaultValue 10 */
  readonly minimumCalls?: number;
  /** Length of the rolling window of outcomes, in ms. @defaultValue 10_000 */
  readonly window?: number;
  /** Buckets the window is divided into; outcomes age out one bucket (`window / buckets` ms) at a time. @defaultValue 10 */
  readonly buckets?: number;
  /**
   * How long the breaker stays open before it admits a probe, in ms; or a growing period
   * ({@link ResetAfterOptions}) for breakers that keep re-opening.
   * @defaultValue 30_000
   */
  readonly resetAfter?: number | ResetAfterOptions;
  /**
   * Which errors count as failures of the dependency. Errors it rejects still reach the caller but count
   * as successful calls (opossum's `errorFilter`): a 404 means the service answered. Bulkhead and
   * rate-limit rejections and calls the caller aborted never count as failures.
   * @defaultValue every error counts
   */
  readonly isFailure?: (error: unknown) => boolean;
  /** Time limit per call, in ms; each call gets its own `AbortController`. @defaultValue no limit */
  readonly timeout?: number;
  /**
   * Result for calls refused while open and calls that failed (not for errors `isFailure` rejects).
   * @defaultValue none: the error is thrown
   */
  readonly fallback?: (error: unknown) => F | PromiseLike<F>;
  /** Where time comes from: window rotation, open period, timeouts. @defaultValue systemClock */
  readonly clock?: Clock;
  /** State to start from, as returned by {@link CircuitBreaker.toJSON}. @defaultValue closed, empty window */
  readonly initialState?: CircuitBreakerSnapshot;
}

/** Counts of the rolling window and the failure rate opossum compares with the threshold. */
export interface CircuitWindowStats extends CircuitWindowCounts {
  /** `failures / calls · 100`; 0 when the window is empty. */
  readonly failureRate: number;
}

/** A breaker's state and counters, from {@link CircuitBreaker.stats}. */
export interface CircuitBreakerStats {
  /** The breaker's name. */
  readonly name: string;
  /** Current state. */
  readonly state: CircuitState;
  /** True while held open by {@link CircuitBreaker.isolate}. */
  readonly isolated: boolean;
  /** Opens in a row without a close. */
  readonly consecutiveOpens: number;
  /** While open (not isolated): ms until the breaker half-opens; otherwise `undefined`. */
  readonly retryAfterMs: number | undefined;
  /** The rolling window; while open or half-open, as it was when the breaker opened. */
  readonly window: CircuitWindowStats;
  /** Calls refused without running since the breaker was created. */
  readonly rejections: number;
}

/** Payload of {@link CircuitBreaker.onOpen}. */
export interface CircuitOpenEvent {
  /** The breaker's name. */
  readonly name: string;
  /** What opened it: the failure rate, a failed probe, or {@link CircuitBreaker.isolate}. */
  readonly reason: 'failureRate' | 'probeFailed' | 'isolated';
  /** How long it will stay open, in ms; `undefined` when isolated. */
  readonly openForMs: number | undefined;
  /** Opens in a row without a close, this one included. */
  readonly consecutiveOpens: number;
  /** The window when the failure rate tripped it; `undefined` otherwise. */
  readonly window: CircuitWindowStats | undefined;
}

/** Payload of {@link CircuitBreaker.onHalfOpen}. */
export interface CircuitHalfOpenEvent {
  /** The breaker's name. */
  readonly name: string;
  /** How long it was open, in ms. */
  readonly openedForMs: number;
}

/** Payload of {@link CircuitBreaker.onClose}. */
export interface CircuitCloseEvent {
  /** The breaker's name. */
  readonly name: string;
  /** A probe succeeded, or {@link CircuitBreaker.reset} was called. */
  readonly reason: 'probeSucceeded' | 'reset';
}

/** Payload of {@link CircuitBreaker.onReject}. */
export interface CircuitRejectEvent {
  /** The breaker's name. */
  readonly name: string;
  /** The error the call was refused with. */
  readonly error: CircuitOpenError;
}

/** Payload of {@link CircuitBreaker.onSuccess}. */
export interface CircuitSuccessEvent {
  /** The breaker's name. */
  readonly name: string;
  /** Duration of the call on the breaker's clock, in ms. */
  readonly durationMs: number;
  /** True for the half-open probe. */
  readonly probe: boolean;
}

/** Payload of {@link CircuitBreaker.onFailure}. */
export interface CircuitFailureEvent {
  /** The breaker's name. */
  readonly name: string;
  /** The error, a {@link TimeoutError} for a timeout. */
  readonly error: unknown;
  /** Duration of the call on the breaker's clock, in ms. */
  readonly durationMs: number;
  /** True for the half-open probe. */
  readonly probe: boolean;
}

/** Payload of {@link CircuitBreaker.onTimeout}. */
export interface CircuitTimeoutEvent {
  /** The breaker's name. */
  readonly name: string;
  /** The limit that was exceeded, in ms. */
  readonly timeoutMs: number;
}

type InternalState =
  | { readonly kind: 'closed' }
  | { readonly kind: 'open'; readonly openedAt: number; readonly halfOpenAt: number }
  | { readonly kind: 'halfOpen'; probing: boolean }
  | { readonly kind: 'isolated' }
  | { readonly kind: 'disposed' };

const CLOSED: InternalState = Object.freeze({ kind: 'closed' });
const ISOLATED: InternalState = Object.freeze({ kind: 'isolated' });
const DISPOSED: InternalState = Object.freeze({ kind: 'disposed' });
const EMPTY_WINDOW: CircuitWindowStats = Object.freeze({ calls: 0, successes: 0, failures: 0, failureRate: 0 });

/**
 * Opossum as the breaker's window and judge: opossum keeps the window's buckets and applies its trip rule
 * to every failure. This subclass adds two things.
 *
 * A lean `stats`. Opossum reads `stats` on every failure to apply its trip rule, and its getter rebuilds
 * every counter of every bucket plus nine percentile fields each time (tens of microseconds on a slow
 * machine). The trip rule only needs the window's sums, so this getter adds up the counters of the buckets
 * and nothing else: constant time, whatever the number of failures in the window.
 *
 * A fast path for calls that succeed. Opossum's `fire` wraps every call in a promise, two handlers, two
 * events and three clock reads, more than a whole pipeline of the other policies costs; so the breaker
 * runs calls itself. A running call counts as a fire (as in `fire`, which counts a call when it starts).
 * A call that succeeds, or fails with an error that does not count (opossum's filtered errors), is
 * counted as a fire and a success of the current bucket; successes are tallied here and added to opossum's
 * current bucket before it rotates, so the current bucket reads the same either way. A call that fails is
 * replayed through `fire`, so opossum counts the fire and the failure and applies its trip rule exactly as
 * for a call it had run itself, before the caller sees the error.
 */
class LeanOpossum extends Opossum<[unknown], unknown> {
  // The counters are set right after construction; `stats` reads them as 0 while opossum's constructor runs.
  /** Calls running, counted as fires. */
  declare running: number;
  /** Successes of the current bucket not yet added to it (each is also a fire). */
  declare succeeded: number;
  /** Records a token-less call that succeeded and passes its value on. */
  declare onValue: <T>(value: T) => T;
  /** Records a token-less call that failed, and rejects with its error. */
  declare onError: (error: unknown) => Promise<never>;

  /** Adds the tallied successes to the current bucket; called before the buckets rotate. */
  flush(): void {
    const n = this.succeeded;
    if (n === 0) return;
    this.succeeded = 0;
    const current = this.status.window[0];
    if (current === undefined) return;
    current.fires += n;
    current.successes += n;
  }
}

/** Opossum's action: only replayed failures go through `fire`, so it rejects with the failure. */
function replayFailure(error: unknown): Promise<never> {
  return Promise.reject(error);
}

function sumWindow(window: readonly Opossum.Bucket[], running: number, succeeded: number): Opossum.Stats {
  let fires = running + succeeded;
  let failures = 0;
  let successes = succeeded;
  let rejects = 0;
  let timeouts = 0;
  for (const bucket of window) {
    fires += bucket.fires;
    failures += bucket.failures;
    successes += bucket.successes;
    rejects += bucket.rejects;
    timeouts += bucket.timeouts;
  }
  return {
    fires,
    failures,
    successes,
    rejects,
    timeouts,
    fallbacks: 0,
    cacheHits: 0,
    cacheMisses: 0,
    semaphoreRejections: 0,
    percentiles: {},
    latencyTimes: [],
    latencyMean: -1,
  };
}

// A getter, not a class accessor: the typings declare `stats` as a property.
Object.defineProperty(LeanOpossum.prototype, 'stats', {
  get(this: LeanOpossum): Opossum.Stats {
    return sumWindow(this.status.window, this.running || 0, this.succeeded || 0);
  },
});

function windowStats(calls: number, successes: number, failures: number): CircuitWindowStats {
  return { calls, successes, failures, failureRate: calls === 0 ? 0 : (failures / calls) * 100 };
}

function validateSnapshot(value: unknown, argument: string): CircuitBreakerSnapshot {
  assertObject(value, argument);
  const s = value as Record<string, unknown>;
  if (s.version !== 1) invalid(`${argument}.version`, '1', s.version);
  switch (s.state) {
    case 'closed': {
      assertObject(s.window, `${argument}.window`);
      const w = s.window as Record<string, unknown>;
      const { calls, successes, failures } = w;
      assertNonNegativeInteger(calls, `${argument}.window.calls`);
      assertNonNegativeInteger(successes, `${argument}.window.successes`);
      assertNonNegativeInteger(failures, `${argument}.window.failures`);
      if (successes + failures > calls) invalid(`${argument}.window`, 'successes + failures <= calls', s.window);
      return { version: 1, state: 'closed', window: { calls, successes, failures } };
    }
    case 'open': {
      const { consecutiveOpens, remainingMs } = s;
      assertNonNegativeInteger(consecutiveOpens, `${argument}.consecutiveOpens`);
      if (s.isolated === true) return { version: 1, state: 'open', isolated: true, consecutiveOpens };
      if (s.isolated !== false) invalid(`${argument}.isolated`, 'a boolean', s.isolated);
      if (consecutiveOpens < 1) invalid(`${argument}.consecutiveOpens`, 'an integer >= 1 when open', consecutiveOpens);
      assertNonNegativeNumber(remainingMs, `${argument}.remainingMs`);
      return { version: 1, state: 'open', isolated: false, consecutiveOpens, remainingMs };
    }
    case 'halfOpen': {
      const { consecutiveOpens } = s;
      assertNonNegativeInteger(consecutiveOpens, `${argument}.consecutiveOpens`);
      return { version: 1, state: 'halfOpen', consecutiveOpens };
    }
    default:
      return invalid(`${argument}.state`, '"closed", "open" or "halfOpen"', s.state);
  }
}

/**
 * Stops calling a failing dependency: while the failure rate in the rolling window is at or below the
 * threshold calls go through; above it the breaker opens and refuses calls at once with
 * {@link CircuitOpenError} (or the fallback) for `resetAfter` ms; then one probe is let through, and its
 * outcome closes the breaker or opens it again, for longer when `resetAfter` grows.
 *
 * The open → half-open transition needs no timer: it happens on the first call (or `state`/`stats()`
 * read) after the open period has elapsed on the breaker's clock. On a `ManualClock` (or any clock
 * but the system one) the window's buckets rotate from `clock.now()` on each call and the breaker holds
 * no timer; on the system clock they rotate on one unref'd timer that runs only while calls come in and
 * the breaker is closed. A per-call `timeout` holds one timer for all the running calls (see
 * {@link TimeoutPolicy}).
 *
 * @typeParam F - Type of the fallback result, `never` without a fallback.
 * @example
 * ```ts
 * import { CircuitBreaker, isCircuitOpenError } from 'system-design-blocks/resilience';
 *
 * const breaker = new CircuitBreaker({ name: 'payment-gateway', failureThreshold: 50, minimumCalls: 20, timeout: 2_000 });
 * breaker.onOpen((e) => console.log(`${e.name} open for ${e.openForMs} ms`));
 * try {
 *   const receipt = await breaker.execute(async ({ signal }) => {
 *     const response = await fetch('https://gateway.example/charge', { method: 'POST', signal });
 *     return response.json() as Promise<{ id: string }>;
 *   });
 *   console.log(receipt.id);
 * } catch (error: unknown) {
 *   if (isCircuitOpenError(error)) console.log('gateway down, try again in', error.retryAfterMs);
 * }
 * ```
 */
export class CircuitBreaker<F = never> implements ResiliencePolicy<F> {
  /** Type-level marker of the fallback type; never set at runtime. */
  declare readonly '~fallback'?: () => F;
  /** Name used in errors, events and stats. */
  readonly name: string;
  /** Failure rate (%) the window must exceed to open the breaker. */
  readonly failureThreshold: number;
  /** Calls the window must hold before the breaker can open. */
  readonly minimumCalls: number;
  /** Length of the rolling window, in ms. */
  readonly window: number;
  /** Time limit per call, in ms, or `undefined`. */
  readonly timeoutMs: number | undefined;
  readonly #limits: TimeLimits | undefined;

  readonly #clock: Clock;
  readonly #buckets: number;
  readonly #bucketMs: number;
  readonly #openPeriod: Backoff;
  readonly #isFailure: ((error: unknown) => boolean) | undefined;
  readonly #fallback: ((error: unknown) => F | PromiseLike<F>) | undefined;
  readonly #rotator = new EventEmitter();

  #state: InternalState = CLOSED;
  /** The live opossum instance; defined exactly while closed. */
  #opossum: LeanOpossum | undefined;
  #nextRotation = 0;
  /** True on the system clock: bucket rotation then runs on a timer instead of a clock read per call. */
  readonly #ticked: boolean;
  #ticker: ReturnType<typeof setTimeout> | undefined;
  #callsSinceTick = 0;
  #idleTicks = 0;
  #frozenWindow: CircuitWindowStats = EMPTY_WINDOW;
  #consecutiveOpens = 0;
  #rejections = 0;

  readonly #opened = new Emitter<CircuitOpenEvent>();
  readonly #halfOpened = new Emitter<CircuitHalfOpenEvent>();
  readonly #closed = new Emitter<CircuitCloseEvent>();
  readonly #rejected = new Emitter<CircuitRejectEvent>();
  readonly #succeeded = new Emitter<CircuitSuccessEvent>();
  readonly #failed = new Emitter<CircuitFailureEvent>();
  readonly #timedOut = new Emitter<CircuitTimeoutEvent>();
  readonly #notifyTimeout = (): void => {
    this.#timedOut.emit({ name: this.name, timeoutMs: this.timeoutMs as number });
  };

  /** Subscribes to the breaker opening (failure rate, failed probe, isolate). */
  readonly onOpen = this.#opened.subscribe;
  /** Subscribes to the breaker half-opening: the next call is the probe. */
  readonly onHalfOpen = this.#halfOpened.subscribe;
  /** Subscribes to the breaker closing (probe succeeded, reset). */
  readonly onClose = this.#closed.subscribe;
  /** Subscribes to calls refused with {@link CircuitOpenError}. */
  readonly onReject = this.#rejected.subscribe;
  /** Subscribes to calls that succeeded (or failed with an error that does not count). */
  readonly onSuccess = this.#succeeded.subscribe;
  /** Subscribes to calls counted as failures, timeouts included. */
  readonly onFailure = this.#failed.subscribe;
  /** Subscribes to calls that exceeded `timeout`. */
  readonly onTimeout = this.#timedOut.subscribe;

  /**
   * @param options - Thresholds, window, open period, timeout, fallback, clock, initial state; validated
   *   here, all optional.
   * @throws `ValidationError` naming the first option at fault.
   */
  constructor(options?: CircuitBreakerOptions<F>) {
    const o = optionsObject(options, 'options');
    this.name = o.name ?? 'circuit';
    assertNonEmptyString(this.name, 'options.name');
    this.failureThreshold = o.failureThreshold ?? 50;
    assertNumberInRange(this.failureThreshold, 'options.failureThreshold', 0, 100);
    this.minimumCalls = o.minimumCalls ?? 10;
    assertNonNegativeInteger(this.minimumCalls, 'options.minimumCalls');
    this.window = o.window ?? 10_000;
    assertPositiveNumber(this.window, 'options.window');
    this.#buckets = o.buckets ?? 10;
    assertPositiveInteger(this.#buckets, 'options.buckets');
    if (this.#buckets > 1000) invalid('options.buckets', 'an integer <= 1000', this.#buckets);
    this.#bucketMs = this.window / this.#buckets;
    const resetAfter = o.resetAfter ?? 30_000;
    if (typeof resetAfter === 'number') {
      assertPositiveNumber(resetAfter, 'options.resetAfter');
      this.#openPeriod = new Backoff(
        { initial: resetAfter, max: resetAfter, multiplier: 1, jitter: 'none' },
        'options.resetAfter',
      );
    } else {
      assertObject(resetAfter, 'options.resetAfter');
      this.#openPeriod = new Backoff(
        { initial: resetAfter.initial, max: resetAfter.max, multiplier: resetAfter.multiplier ?? 2, jitter: 'none' },
        'options.resetAfter',
      );
    }
    if (o.isFailure !== undefined) assertFunction(o.isFailure, 'options.isFailure');
    this.#isFailure = o.isFailure;
    if (o.timeout !== undefined) assertPositiveNumber(o.timeout, 'options.timeout');
    this.timeoutMs = o.timeout;
    if (o.fallback !== undefined) assertFunction(o.fallback, 'options.fallback');
    this.#fallback = o.fallback;
    this.#clock = o.clock ?? systemClock;
    this.#ticked = this.#clock === systemClock;
    if (typeof this.#clock !== 'object' || this.#clock === null || typeof this.#clock.now !== 'function') {
      invalid('options.clock', 'a Clock', this.#clock);
    }
    this.#limits = this.timeoutMs === undefined ? undefined : new TimeLimits(this.timeoutMs, this.#clock);
    const initial = o.initialState === undefined ? undefined : validateSnapshot(o.initialState, 'options.initialState');

    this.#restore(initial);
  }

  static {
    const run: Runner = function (this: CircuitBreaker<unknown>, fn, token) {
      return this.#run(fn, token);
    };
    Object.defineProperty(CircuitBreaker.prototype, RUN, { value: run });
  }

  /** Current state; reading it moves an open breaker whose period has elapsed to `halfOpen`. */
  get state(): CircuitState {
    this.#refresh(this.#clock.now());
    const kind = this.#state.kind;
    return kind === 'closed' || kind === 'halfOpen' ? kind : 'open';
  }

  /** True while held open by {@link CircuitBreaker.isolate}. */
  get isolated(): boolean {
    return this.#state.kind === 'isolated';
  }

  /**
   * Runs `fn` through the breaker: at once while closed; refused with {@link CircuitOpenError} (or the
   * fallback) while open; as the single probe when half-open.
   *
   * @param fn - The guarded call; receives `{ signal, attempt }`.
   * @param signal - Cancels the call; a cancelled call is not counted as a failure.
   * @throws {@link CircuitOpenError} when refused; {@link TimeoutError} past `timeout`; otherwise `fn`'s
   *   own error (unless the fallback answers).
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | F> {
    return executeWith<T | F>(this, fn, signal);
  }

  /**
   * Wraps `fn`: the returned function has the same parameters and runs `fn` through the breaker.
   *
   * @example
   * ```ts
   * import { CircuitBreaker } from 'system-design-blocks/resilience';
   *
   * const breaker = new CircuitBreaker({ fallback: () => null });
   * const lookup = breaker.wrap(async (sku: string) => ({ sku, stock: 3 }));
   * const item = await lookup('SKU-1'); // { sku: string; stock: number } | null
   * console.log(item?.stock);
   * ```
   */
  wrap<A extends readonly unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T | F> {
    return wrapWith(this, fn);
  }

  /** Counters and state; see {@link CircuitBreakerStats}. */
  stats(): CircuitBreakerStats {
    const now = this.#clock.now();
    this.#refresh(now);
    const state = this.#state;
    return {
      name: this.name,
      state: this.state,
      isolated: state.kind === 'isolated',
      consecutiveOpens: this.#consecutiveOpens,
      retryAfterMs: state.kind === 'open' ? Math.max(0, state.halfOpenAt - now) : undefined,
      window: this.#window(now),
      rejections: this.#rejections,
    };
  }

  /** The state as JSON, for {@link CircuitBreakerOptions.initialState} after a restart. */
  toJSON(): CircuitBreakerSnapshot {
    const now = this.#clock.now();
    this.#refresh(now);
    const state = this.#state;
    const consecutiveOpens = this.#consecutiveOpens;
    switch (state.kind) {
      case 'closed': {
        const { calls, successes, failures } = this.#window(now);
        return { version: 1, state: 'closed', window: { calls, successes, failures } };
      }
      case 'open':
        return {
          version: 1,
          state: 'open',
          isolated: false,
          consecutiveOpens,
          remainingMs: Math.max(0, state.halfOpenAt - now),
        };
      case 'halfOpen':
        return { version: 1, state: 'halfOpen', consecutiveOpens };
      default:
        return { version: 1, state: 'open', isolated: true, consecutiveOpens };
    }
  }

  /**
   * Forces the breaker open until {@link CircuitBreaker.reset}: every call is refused (reason
   * `isolated`), no probe is admitted. For maintenance windows and known outages.
   */
  isolate(): void {
    const kind = this.#state.kind;
    if (kind === 'isolated' || kind === 'disposed') return;
    this.#retireOpossum();
    this.#state = ISOLATED;
    this.#opened.emit({
      name: this.name,
      reason: 'isolated',
      openForMs: undefined,
      consecutiveOpens: this.#consecutiveOpens,
      window: undefined,
    });
  }

  /**
   * Closes the breaker with an empty window and forgets consecutive opens, whatever its state (ends an
   * {@link CircuitBreaker.isolate}). A probe still running is ignored when it settles.
   */
  reset(): void {
    const kind = this.#state.kind;
    if (kind === 'disposed') return;
    this.#retireOpossum();
    this.#consecutiveOpens = 0;
    this.#state = CLOSED;
    this.#spawnOpossum(undefined);
    if (kind !== 'closed') this.#closed.emit({ name: this.name, reason: 'reset' });
  }

  /**
   * Shuts the breaker down: further calls are refused (reason `disposed`), listeners are removed and the
   * underlying opossum instance is shut down. Calls already running settle normally.
   */
  dispose(): void {
    if (this.#state.kind === 'disposed') return;
    this.#retireOpossum();
    this.#state = DISPOSED;
    for (const emitter of [
      this.#opened,
      this.#halfOpened,
      this.#closed,
      this.#rejected,
      this.#succeeded,
      this.#failed,
      this.#timedOut,
    ]) {
      emitter.clear();
    }
  }

  #run<T>(fn: Callee<T>, token: Token | undefined): Promise<T | F> {
    const opossum = this.#opossum;
    if (opossum === undefined) return this.#notClosed(fn, token);
    if (token?.aborted) return Promise.reject(token.reason);
    if (this.#ticked) {
      this.#callsSinceTick++;
      if (this.#ticker === undefined) this.#startTicker();
    } else {
      const now = this.#clock.now();
      if (now >= this.#nextRotation) this.#rotate(now);
    }
    if (this.#fallback === undefined && this.#succeeded.size === 0 && this.#failed.size === 0) {
      return this.#record(opossum, fn, token);
    }
    const startedAt = this.#clock.now();
    return this.#observe(this.#record(opossum, fn, token), token, startedAt, false);
  }

  /** Runs a call of the closed period of `opossum` and records its outcome in opossum's window. */
  #record<T>(opossum: LeanOpossum, fn: Callee<T>, token: Token | undefined): Promise<T> {
    opossum.running++;
    const call = this.#invoke(fn as Callee<unknown>, token) as Promise<T>;
    if (token === undefined) return call.then(opossum.onValue, opossum.onError);
    return call.then(opossum.onValue, (error: unknown) => this.#settleFailure(opossum, error, token));
  }

  /**
   * A call failed: a failure that counts is replayed through opossum's `fire` (opossum counts it and may
   * trip, before the caller sees the error); one that does not count is recorded as opossum records a
   * filtered error, as a success. A call of a closed period that has ended is not recorded.
   */
  #settleFailure(opossum: LeanOpossum, error: unknown, token: Token | undefined): Promise<never> {
    opossum.running--;
    if (opossum !== this.#opossum) return Promise.reject(error);
    if (this.#countsAsFailure(error, token)) return opossum.fire(error) as Promise<never>;
    opossum.succeeded++;
    return Promise.reject(error);
  }

  /** Runs the call: raced with its token, under the per-call timeout when there is one. */
  #invoke(fn: Callee<unknown>, token: Token | undefined): Promise<unknown> {
    if (this.#limits !== undefined) {
      return this.#limits.run(fn, token, this.#timedOut.size === 0 ? undefined : this.#notifyTimeout);
    }
    return raceToken(callNext(fn, token, 1), token);
  }

  #countsAsFailure(error: unknown, token: Token | undefined): boolean {
    if (token?.aborted === true) return false;
    if (isCapacityRejection(error)) return false;
    return this.#isFailure === undefined || safePredicate(this.#isFailure, error, true);
  }

  #observe<T>(promise: Promise<T>, token: Token | undefined, startedAt: number, probe: boolean): Promise<T | F> {
    return promise.then(
      (value) => {
        if (this.#succeeded.size > 0) {
          this.#succeeded.emit({ name: this.name, durationMs: this.#clock.now() - startedAt, probe });
        }
        return value;
      },
      (error: unknown) => {
        if (!this.#countsAsFailure(error, token)) throw error;
        if (this.#failed.size > 0) {
          this.#failed.emit({ name: this.name, error, durationMs: this.#clock.now() - startedAt, probe });
        }
        if (this.#fallback === undefined) throw error;
        return this.#fallback(error);
      },
    );
  }

  #notClosed<T>(fn: Callee<T>, token: Token | undefined): Promise<T | F> {
    if (token?.aborted) return Promise.reject(token.reason);
    const now = this.#clock.now();
    this.#refresh(now);
    const state = this.#state;
    if (state.kind === 'halfOpen' && !state.probing) return this.#probe(fn, token, state, now);
    let reason: CircuitOpenReason;
    let retryAfterMs: number | undefined;
    switch (state.kind) {
      case 'open':
        reason = 'open';
        retryAfterMs = Math.max(0, state.halfOpenAt - now);
        break;
      case 'halfOpen':
        reason = 'probeInFlight';
        break;
      case 'disposed':
        reason = 'disposed';
        break;
      default:
        reason = 'isolated';
    }
    const error = new CircuitOpenError({ breaker: this.name, reason, retryAfterMs });
    this.#rejections++;
    this.#rejected.emit({ name: this.name, error });
    if (this.#fallback === undefined || reason === 'disposed') return Promise.reject(error);
    try {
      return Promise.resolve(this.#fallback(error));
    } catch (thrown: unknown) {
      return Promise.reject(thrown);
    }
  }

  #probe<T>(
    fn: Callee<T>,
    token: Token | undefined,
    state: Extract<InternalState, { kind: 'halfOpen' }>,
    now: number,
  ): Promise<T | F> {
    state.probing = true;
    const promise = this.#invoke(fn as Callee<unknown>, token) as Promise<T>;
    const settled = promise.then(
      (value) => {
        if (this.#state === state) this.#close('probeSucceeded');
        return value;
      },
      (error: unknown) => {
        if (this.#state === state) {
          if (token?.aborted === true || isCapacityRejection(error)) state.probing = false;
          else if (this.#countsAsFailure(error, token)) this.#open('probeFailed', this.#clock.now(), undefined);
          else this.#close('probeSucceeded');
        }
        throw error;
      },
    );
    return this.#observe(settled, token, now, true);
  }

  #refresh(now: number): void {
    const state = this.#state;
    if (state.kind === 'open' && now >= state.halfOpenAt) {
      this.#state = { kind: 'halfOpen', probing: false };
      this.#halfOpened.emit({ name: this.name, openedForMs: now - state.openedAt });
    }
  }

  #open(reason: 'failureRate' | 'probeFailed', now: number, window: CircuitWindowStats | undefined): void {
    this.#consecutiveOpens++;
    const openForMs = this.#openPeriod.base(this.#consecutiveOpens);
    this.#state = { kind: 'open', openedAt: now, halfOpenAt: now + openForMs };
    this.#opened.emit({ name: this.name, reason, openForMs, consecutiveOpens: this.#consecutiveOpens, window });
  }

  #close(reason: 'probeSucceeded' | 'reset'): void {
    this.#consecutiveOpens = 0;
    this.#state = CLOSED;
    this.#spawnOpossum(undefined);
    this.#closed.emit({ name: this.name, reason });
  }

  /** Opossum tripped: freeze its window, shut it down (clearing its reset timer) and open. */
  #tripped(opossum: LeanOpossum): void {
    if (opossum !== this.#opossum) return;
    this.#retireOpossum();
    this.#open('failureRate', this.#clock.now(), this.#frozenWindow);
  }

  #retireOpossum(): void {
    const opossum = this.#opossum;
    if (opossum === undefined) return;
    this.#frozenWindow = this.#window(this.#clock.now());
    this.#opossum = undefined;
    this.#stopTicker();
    opossum.shutdown();
  }

  #spawnOpossum(primed: CircuitWindowCounts | undefined): void {
    const common = {
      rollingCountBuckets: this.#buckets,
      rollingCountTimeout: this.window,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: this.#rotator,
    };
    const status = Opossum.newStatus({
      ...common,
      ...(primed === undefined
        ? {}
        : {
            stats: {
              fires: primed.calls,
              successes: primed.successes,
              failures: primed.failures,
              fallbacks: 0,
              rejects: 0,
              timeouts: 0,
              cacheHits: 0,
              cacheMisses: 0,
              semaphoreRejections: 0,
              percentiles: {},
              latencyTimes: [],
              latencyMean: 0,
            },
          }),
    });
    const opossum = new LeanOpossum(replayFailure, {
      ...common,
      name: this.name,
      status,
      timeout: false,
      errorThresholdPercentage: this.failureThreshold,
      volumeThreshold: this.minimumCalls,
      allowWarmUp: false,
    });
    opossum.running = 0;
    opossum.succeeded = 0;
    opossum.onValue = <T>(value: T): T => {
      opossum.running--;
      if (opossum === this.#opossum) opossum.succeeded++;
      return value;
    };
    opossum.onError = (error) => this.#settleFailure(opossum, error, undefined);
    opossum.on('open', () => this.#tripped(opossum));
    this.#opossum = opossum;
    this.#frozenWindow = EMPTY_WINDOW;
    this.#nextRotation = this.#clock.now() + this.#bucketMs;
  }

  /**
   * On the system clock, buckets rotate on a timer set for each bucket boundary while calls are coming in:
   * reading the time on every call would cost more than the rest of the breaker on machines with a slow
   * clock. The timer is unref'd, stops after a whole window without calls and when the breaker leaves
   * `closed`; a rotation always catches up from `clock.now()`, so a late timer loses nothing.
   */
  #startTicker(): void {
    const now = this.#clock.now();
    if (now >= this.#nextRotation) this.#rotate(now);
    this.#idleTicks = 0;
    this.#callsSinceTick = 0;
    this.#armTicker(now);
  }

  #armTicker(now: number): void {
    const ticker = setTimeout(() => this.#tick(), Math.max(0, this.#nextRotation - now));
    ticker.unref?.();
    this.#ticker = ticker;
  }

  #tick(): void {
    this.#ticker = undefined;
    if (this.#opossum === undefined) return;
    const now = this.#clock.now();
    if (now >= this.#nextRotation) this.#rotate(now);
    if (this.#callsSinceTick > 0) this.#idleTicks = 0;
    else if (++this.#idleTicks >= this.#buckets) return;
    this.#callsSinceTick = 0;
    this.#armTicker(now);
  }

  #stopTicker(): void {
    if (this.#ticker === undefined) return;
    clearTimeout(this.#ticker);
    this.#ticker = undefined;
  }

  /** Rotates opossum's buckets for the time elapsed on the clock (at most a full window's worth). */
  #rotate(now: number): void {
    const behind = Math.floor((now - this.#nextRotation) / this.#bucketMs) + 1;
    const rotations = Math.min(behind, this.#buckets);
    this.#opossum?.flush();
    for (let i = 0; i < rotations; i++) this.#rotator.emit('rotate');
    this.#nextRotation += behind * this.#bucketMs;
  }

  #window(now: number): CircuitWindowStats {
    const opossum = this.#opossum;
    if (opossum === undefined) return this.#frozenWindow;
    if (now >= this.#nextRotation) this.#rotate(now);
    const s = opossum.stats;
    return windowStats(s.fires, s.successes, s.failures);
  }

  #restore(snapshot: CircuitBreakerSnapshot | undefined): void {
    if (snapshot === undefined || snapshot.state === 'closed') {
      this.#spawnOpossum(snapshot?.window);
      return;
    }
    this.#consecutiveOpens = snapshot.consecutiveOpens;
    if (snapshot.state === 'halfOpen') this.#state = { kind: 'halfOpen', probing: false };
    else if (snapshot.isolated) this.#state = ISOLATED;
    else {
      const now = this.#clock.now();
      this.#state = { kind: 'open', openedAt: now, halfOpenAt: now + snapshot.remainingMs };
    }
  }
}
