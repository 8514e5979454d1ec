/**
 * `idempotent(handler, options)`: runs a handler at most once per (scope, idempotency key) while the key is
 * retained, and replays its saved outcome to every repeat (Stripe's idempotency keys, the IETF Idempotency-Key
 * draft).
 */
import {
  abortReason,
  Backoff,
  type BackoffOptions,
  type BackoffSchedule,
  type Clock,
  canonicalJson,
  Emitter,
  type JsonValue,
  type Subscribe,
  SystemDesignError,
  sha256Hex,
  systemClock,
  throwIfAborted,
} from '../core/index.js';
import {
  assertFunction,
  assertNonNegativeNumber,
  assertObject,
  assertOneOf,
  assertOptionalSignal,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from '../core/validation.js';
import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  IdempotencyLeaseLostError,
  IdempotencyStoreError,
  type IdempotencyStoreOperation,
  IdempotencyUnserializableError,
  isIdempotencyLeaseLostError,
} from './errors.js';
import { mutableJsonCopy } from './json.js';
import type { IdempotencyBeginResult, IdempotencyOutcome, IdempotencyStore, IdempotencyStoredError } from './store.js';

/** Default retention of saved outcomes: 24 hours, in ms. */
export const DEFAULT_IDEMPOTENCY_RETENTION = 86_400_000;
/** Default lease of a running request: 30 seconds, in ms. */
export const DEFAULT_IDEMPOTENCY_LEASE = 30_000;

/** What a handler sees besides the request: who holds the key, and how to save a recovery point. */
export interface IdempotencyContext {
  /** Caller scope of the key. */
  readonly scope: string;
  /** The client's idempotency key. */
  readonly key: string;
  /** Fingerprint of the request payload. */
  readonly fingerprint: string;
  /** This holder's fencing token. */
  readonly token: number;
  /** 1 on the first run; more when resuming after an expired lease or a released attempt. */
  readonly attempt: number;
  /** The recovery point a previous holder saved, to resume from; `undefined` on a fresh start. */
  readonly progress: JsonValue | undefined;
  /** The caller's signal, if any. */
  readonly signal: AbortSignal | undefined;
  /**
   * Saves a recovery point (JSON) and renews the lease. Call it before and after every external effect.
   *
   * @throws {@link IdempotencyLeaseLostError} when another worker took the key over: stop at once.
   * @throws {@link IdempotencyStoreError} when the store failed.
   */
  checkpoint(progress: JsonValue): Promise<void>;
}

/** The function made idempotent: gets the request and the {@link IdempotencyContext}. */
export type IdempotentHandler<Req, Res> = (request: Req, context: IdempotencyContext) => Res | Promise<Res>;

/** What a duplicate does while the first request with its key is still running. */
export type IdempotencyInProgressPolicy = 'reject' | 'wait';

/** Options of {@link idempotent}. All durations in ms. */
export interface IdempotentOptions<Req, Res> {
  /** Where keys, leases and outcomes are kept. */
  readonly store: IdempotencyStore;
  /**
   * Reads the client's idempotency key from a request (1–255 printable ASCII characters). A missing or
   * malformed key is a `ValidationError` (HTTP 400).
   */
  readonly key: (request: Req) => string | undefined;
  /**
   * The caller identity the key is scoped to (customer, account, API key): one caller's key can never replay
   * another caller's response. Must return a non-empty string.
   */
  readonly scope: (request: Req) => string;
  /**
   * Fingerprint of the request payload; the same key with another fingerprint is rejected.
   * @defaultValue SHA-256 of the canonical JSON of the request (key order does not matter)
   */
  readonly fingerprint?: (request: Req) => string;
  /** How long a saved outcome is replayed, in ms. @defaultValue 86_400_000 (24 h) */
  readonly retention?: number;
  /** How long a run holds the key before another worker may take it over, in ms. @defaultValue 30_000 */
  readonly lease?: number;
  /**
   * A duplicate arriving while the first request runs: `'reject'` throws {@link IdempotencyInProgressError}
   * (HTTP 409); `'wait'` waits for the outcome, up to `waitTimeout`.
   * @defaultValue 'reject'
   */
  readonly onInProgress?: IdempotencyInProgressPolicy;
  /** With `onInProgress: 'wait'`, the longest wait before {@link IdempotencyInProgressError}, in ms. @defaultValue 10_000 */
  readonly waitTimeout?: number;
  /**
   * With `onInProgress: 'wait'`, how often the store is polled when the running request is in another process.
   * @defaultValue \{ initial: 50, max: 1_000, jitter: 'equal' \}
   */
  readonly waitBackoff?: BackoffOptions;
  /**
   * Whether an error thrown by the handler is a final answer (a declined card): terminal errors are saved and
   * replayed; any other error releases the key so the client's retry runs again.
   * @defaultValue () =\> false
   */
  readonly isTerminalError?: (error: unknown) => boolean;
  /**
   * Rewrites an outcome before it is saved (remove card numbers and secrets). Replays return the redacted
   * form; the first caller gets the handler's own value.
   * @defaultValue identity
   */
  readonly redact?: (outcome: IdempotencyOutcome) => IdempotencyOutcome;
  /**
   * Turns the handler's value into the JSON that is saved.
   * @defaultValue a JSON round trip (`toJSON` respected; `undefined` saves no value)
   */
  readonly serialize?: (value: Res) => JsonValue | undefined;
  /** Turns a saved value back into a result on replay. @defaultValue a mutable copy of the JSON */
  readonly deserialize?: (value: JsonValue | undefined) => Res;
  /** Clock for waiting. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Per-call options of an {@link IdempotentFunction}. */
export interface IdempotentCallOptions {
  /** Cancels waiting; handed to the handler as `context.signal`. */
  readonly signal?: AbortSignal;
}

/** What an {@link IdempotentFunction} resolves to. */
export interface IdempotentResult<Res> {
  /** The handler's value (first run) or the saved one (replay). */
  readonly value: Res;
  /** True when this is a saved outcome replayed, not a fresh run. */
  readonly replayed: boolean;
  /** Caller scope of the key. */
  readonly scope: string;
  /** The idempotency key. */
  readonly key: string;
}

/** Fields every {@link IdempotencyEvent} carries. */
export interface IdempotencyEventBase {
  /** Caller scope of the key. */
  readonly scope: string;
  /** The idempotency key. */
  readonly key: string;
}

/** What happened to one call, as a discriminated union on `type`. */
export type IdempotencyEvent =
  | (IdempotencyEventBase & {
      /** This call holds the key; `attempt` \> 1 means it resumes an earlier, unfinished run. */
      readonly type: 'acquired';
      /** Fencing token. */
      readonly token: number;
      /** Acquisition count of the record. */
      readonly attempt: number;
    })
  | (IdempotencyEventBase & {
      /** The handler finished and its outcome was saved. */
      readonly type: 'completed';
      /** Whether a value or a terminal error was saved. */
      readonly outcome: 'value' | 'error';
    })
  | (IdempotencyEventBase & {
      /** A saved outcome was replayed. */
      readonly type: 'replayed';
    })
  | (IdempotencyEventBase & {
      /** The handler failed with a non-terminal error; the key was given back. */
      readonly type: 'released';
      /** The handler's error. */
      readonly error: unknown;
    })
  | (IdempotencyEventBase & {
      /** The call was refused. */
      readonly type: 'rejected';
      /** Why: another run holds the key, or the key was reused with another payload. */
      readonly reason: 'in_progress' | 'mismatch';
    })
  | (IdempotencyEventBase & {
      /** This call's lease was taken over; its token wrote nothing. */
      readonly type: 'lease_lost';
      /** The stale token. */
      readonly token: number;
    })
  | (IdempotencyEventBase & {
      /** A store operation failed. */
      readonly type: 'store_error';
      /** Which one. */
      readonly operation: IdempotencyStoreOperation;
      /** The store's error. */
      readonly error: unknown;
    });

/** A handler made idempotent by {@link idempotent}. */
export interface IdempotentFunction<Req, Res> {
  /**
   * Runs the handler once per key, or replays the saved outcome.
   *
   * @throws `ValidationError` for a missing or malformed key (HTTP 400).
   * @throws {@link IdempotencyKeyReusedError} when the key was used with another payload (HTTP 422).
   * @throws {@link IdempotencyInProgressError} while another run holds the key (HTTP 409).
   * @throws {@link IdempotencyStoreError} when the store could not start the request (HTTP 503).
   * @throws The handler's error (first run) or the replayed terminal error (see {@link isReplayedError}).
   */
  (request: Req, options?: IdempotentCallOptions): Promise<IdempotentResult<Res>>;
  /** Subscribes to what happens to each call; returns a disposable. */
  readonly onEvent: Subscribe<IdempotencyEvent>;
}

const REPLAYED = Symbol.for('system-design-blocks.idempotency.replayed');
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
const SKIPPED_ERROR_FIELDS = new Set(['name', 'message', 'code', 'stack', 'cause']);
const SAVE_ATTEMPTS = 3;

/**
 * True when `error` is a terminal error rebuilt from a saved outcome (a replay), not one thrown by a fresh run.
 *
 * @param error - Anything caught from an {@link IdempotentFunction}.
 */
export function isReplayedError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { [REPLAYED]?: unknown })[REPLAYED] === true;
}

/**
 * The default request fingerprint: SHA-256 (hex) of the request's canonical JSON, so key order does not matter.
 *
 * @param request - JSON data.
 * @throws `ValidationError` when the request is not JSON (pass your own `fingerprint` then).
 * @example
 * ```ts
 * import { requestFingerprint } from 'system-design-blocks/idempotency';
 *
 * console.log(requestFingerprint({ a: 1, b: 2 }) === requestFingerprint({ b: 2, a: 1 })); // true
 * ```
 */
export function requestFingerprint(request: unknown): string {
  return sha256Hex(canonicalJson(request, 'request'));
}

/**
 * Checks an idempotency key: a string of 1–255 printable ASCII characters (as the IETF draft's header value).
 *
 * @param key - The value to check.
 * @param argument - Name used in the error. @defaultValue 'idempotencyKey'
 * @throws `ValidationError` for a missing or malformed key (HTTP 400).
 * @example
 * ```ts
 * import { assertIdempotencyKey } from 'system-design-blocks/idempotency';
 *
 * assertIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324');
 * ```
 */
export function assertIdempotencyKey(key: unknown, argument = 'idempotencyKey'): asserts key is string {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    invalid(argument, '1 to 255 printable ASCII characters', key);
  }
}

function serializeError(error: unknown): IdempotencyStoredError {
  if (typeof error !== 'object' || error === null) return { name: 'Error', message: String(error) };
  const e = error as Record<string, unknown>;
  const fields: Record<string, JsonValue> = {};
  let any = false;
  for (const field of Object.keys(e)) {
    if (SKIPPED_ERROR_FIELDS.has(field)) continue;
    try {
      fields[field] = JSON.parse(canonicalJson(e[field])) as JsonValue;
      any = true;
    } catch {
      // Context that is not JSON (a function, a class instance) cannot be kept; drop it.
    }
  }
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(error),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(any ? { fields } : {}),
  };
}

/** Rebuilds a saved error: a package error keeps its code, so `isXError` guards still recognise it. */
function reviveError(stored: IdempotencyStoredError): Error {
  const error =
    stored.code === undefined ? new Error(stored.message) : new SystemDesignError(stored.code, stored.message);
  if (stored.fields !== undefined) Object.assign(error, stored.fields);
  Object.defineProperty(error, 'name', { value: stored.name, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(error, REPLAYED, { value: true });
  return error;
}

function defaultSerialize(value: unknown): JsonValue | undefined {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
}

function defaultDeserialize(value: JsonValue | undefined): unknown {
  // A memory store hands out frozen, shared JSON; give each caller its own copy.
  return typeof value === 'object' && value !== null && Object.isFrozen(value) ? mutableJsonCopy(value) : value;
}

type FlightResult = { readonly type: 'outcome'; readonly outcome: IdempotencyOutcome } | { readonly type: 'retry' };

interface Waiter {
  readonly deadline: number;
  readonly resolve: (result: FlightResult | typeof TIMED_OUT) => void;
  done: boolean;
  cleanup: (() => void) | undefined;
}

/**
 * A run holding a key in this process. Local duplicates wait on it instead of polling the store; they share
 * one timer (armed for the earliest deadline), so 10,000 waiters cost 10,000 list entries, not 10,000 timers.
 */
interface Flight {
  settled: FlightResult | undefined;
  waiters: Waiter[];
  live: number;
  timer: AbortController | undefined;
  armedFor: number;
}

/** Reason used to cancel a flight's timer: a plain value, so cancelling allocates no error. */
const CANCELLED = Object.freeze({ cancelled: true });

const TIMED_OUT: unique symbol = Symbol('timed out');

type Executed<Res> = { readonly type: 'done'; readonly result: IdempotentResult<Res> } | { readonly type: 'lost' };

/**
 * The engine behind {@link idempotent} and the payment processor. Internal: not exported from the package.
 * @internal
 */
export class IdempotencyEngine<Req, Res> {
  readonly #handler: IdempotentHandler<Req, Res>;
  readonly #store: IdempotencyStore;
  readonly #key: (request: Req) => string | undefined;
  readonly #scope: (request: Req) => string;
  readonly #fingerprint: (request: Req) => string;
  readonly #retention: number;
  readonly #lease: number;
  readonly #wait: boolean;
  readonly #waitTimeout: number;
  readonly #waitBackoff: Backoff;
  readonly #isTerminal: (error: unknown) => boolean;
  readonly #redact: ((outcome: IdempotencyOutcome) => IdempotencyOutcome) | undefined;
  readonly #serialize: (value: Res) => JsonValue | undefined;
  readonly #deserialize: (value: JsonValue | undefined) => Res;
  readonly #clock: Clock;
  readonly #flights = new Map<string, Flight>();
  readonly #events = new Emitter<IdempotencyEvent>();
  /** Subscribes to call events. */
  readonly onEvent: Subscribe<IdempotencyEvent> = this.#events.subscribe;

  constructor(handler: IdempotentHandler<Req, Res>, options: IdempotentOptions<Req, Res>) {
    assertFunction(handler, 'handler');
    assertObject(options, 'options');
    const o = optionsObject(options, 'options');
    assertObject(o.store, 'options.store');
    for (const method of ['begin', 'checkpoint', 'complete', 'release'] as const) {
      assertFunction(o.store[method], `options.store.${method}`);
    }
    assertFunction(o.key, 'options.key');
    assertFunction(o.scope, 'options.scope');
    if (o.fingerprint !== undefined) assertFunction(o.fingerprint, 'options.fingerprint');
    const retention = o.retention ?? DEFAULT_IDEMPOTENCY_RETENTION;
    assertPositiveNumber(retention, 'options.retention');
    const lease = o.lease ?? DEFAULT_IDEMPOTENCY_LEASE;
    assertPositiveNumber(lease, 'options.lease');
    const onInProgress = o.onInProgress ?? 'reject';
    assertOneOf(onInProgress, 'options.onInProgress', ['reject', 'wait'] as const);
    const waitTimeout = o.waitTimeout ?? 10_000;
    assertNonNegativeNumber(waitTimeout, 'options.waitTimeout');
    const waitBackoff = new Backoff(
      o.waitBackoff ?? { initial: 50, max: 1_000, jitter: 'equal' },
      'options.waitBackoff',
    );
    for (const name of ['isTerminalError', 'redact', 'serialize', 'deserialize'] as const) {
      if (o[name] !== undefined) assertFunction(o[name], `options.${name}`);
    }
    const clock = o.clock ?? systemClock;
    assertObject(clock, 'options.clock');
    assertFunction(clock.now, 'options.clock.now');
    assertFunction(clock.sleep, 'options.clock.sleep');

    this.#handler = handler;
    this.#store = o.store;
    this.#key = o.key;
    this.#scope = o.scope;
    this.#fingerprint = o.fingerprint ?? requestFingerprint;
    this.#retention = retention;
    this.#lease = lease;
    this.#wait = onInProgress === 'wait';
    this.#waitTimeout = waitTimeout;
    this.#waitBackoff = waitBackoff;
    this.#isTerminal = o.isTerminalError ?? (() => false);
    this.#redact = o.redact;
    this.#serialize = o.serialize ?? defaultSerialize;
    this.#deserialize = o.deserialize ?? (defaultDeserialize as (value: JsonValue | undefined) => Res);
    this.#clock = clock;
  }

  /**
   * Runs or replays one request. `overrides.fingerprint` replaces the computed one (a recovery sweep resumes a
   * record with the fingerprint it was created with); `overrides.reject` never waits.
   */
  async run(
    request: Req,
    options?: IdempotentCallOptions,
    overrides?: { readonly fingerprint?: string; readonly reject?: boolean },
  ): Promise<IdempotentResult<Res>> {
    const o = optionsObject(options, 'options');
    const signal = o.signal;
    assertOptionalSignal(signal, 'options.signal');
    throwIfAborted(signal);
    const key = this.#key(request);
    assertIdempotencyKey(key);
    const scope = this.#scope(request);
    if (typeof scope !== 'string' || scope.length === 0) invalid('scope', 'a non-empty string', scope);
    const print = overrides?.fingerprint ?? this.#fingerprint(request);
    const wait = this.#wait && overrides?.reject !== true;
    if (typeof print !== 'string' || print.length === 0) invalid('fingerprint', 'a non-empty string', print);

    const id = `${scope.length}:${scope}:${key}`;
    const deadline = this.#clock.now() + this.#waitTimeout;
    let schedule: BackoffSchedule | undefined;
    for (;;) {
      throwIfAborted(signal);
      let begun: IdempotencyBeginResult;
      try {
        begun = await this.#store.begin({
          scope,
          key,
          fingerprint: print,
          leaseMs: this.#lease,
          retentionMs: this.#retention,
        });
      } catch (error: unknown) {
        this.#events.emit({ type: 'store_error', scope, key, operation: 'begin', error });
        throw new IdempotencyStoreError({ operation: 'begin', scope, key }, { cause: error });
      }
      let leaseExpiresAt = this.#clock.now() + this.#lease;
      if (begun.status === 'mismatch') {
        this.#events.emit({ type: 'rejected', scope, key, reason: 'mismatch' });
        throw new IdempotencyKeyReusedError({ scope, key });
      }
      if (begun.status === 'completed') return this.#replay(begun.outcome, scope, key);
      if (begun.status === 'acquired') {
        const executed = await this.#execute(request, begun, id, scope, key, print, signal);
        if (executed.type === 'done') return executed.result;
      } else {
        leaseExpiresAt = begun.leaseExpiresAt;
      }

      // Another run holds the key (or took it over from this one).
      const now = this.#clock.now();
      const remaining = deadline - now;
      if (!wait || remaining <= 0) {
        this.#events.emit({ type: 'rejected', scope, key, reason: 'in_progress' });
        const retryAfter = Math.min(this.#lease, Math.max(1, Math.ceil(leaseExpiresAt - now)));
        throw new IdempotencyInProgressError({ scope, key, retryAfter });
      }
      const flight = this.#flights.get(id);
      if (flight !== undefined) {
        // The holder runs in this process: wait for it instead of polling the store.
        const result = await this.#waitFor(flight, deadline, signal);
        if (result === TIMED_OUT) continue; // the next round reports in_progress past the deadline
        if (result.type === 'outcome') return this.#replay(result.outcome, scope, key);
        continue;
      }
      schedule ??= this.#waitBackoff.start();
      await this.#clock.sleep(Math.min(schedule.next(), remaining), signal);
    }
  }

  #replay(outcome: IdempotencyOutcome, scope: string, key: string): IdempotentResult<Res> {
    this.#events.emit({ type: 'replayed', scope, key });
    if (outcome.type === 'error') throw reviveError(outcome.error);
    return { value: this.#deserialize(outcome.value), replayed: true, scope, key };
  }

  #waitFor(
    flight: Flight,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<FlightResult | typeof TIMED_OUT> {
    if (flight.settled !== undefined) return Promise.resolve(flight.settled);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { deadline, resolve, done: false, cleanup: undefined };
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (waiter.done) return;
          waiter.done = true;
          if (--flight.live === 0) {
            // Nobody is left waiting: drop the timer now rather than when the run ends.
            flight.timer?.abort(CANCELLED);
            flight.timer = undefined;
            flight.armedFor = Number.POSITIVE_INFINITY;
            flight.waiters = [];
          }
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      flight.waiters.push(waiter);
      flight.live++;
      if (deadline < flight.armedFor) this.#arm(flight, deadline);
    });
  }

  #arm(flight: Flight, deadline: number): void {
    flight.timer?.abort(CANCELLED);
    const timer = new AbortController();
    flight.timer = timer;
    flight.armedFor = deadline;
    this.#clock.sleep(Math.max(0, deadline - this.#clock.now()), timer.signal).then(
      () => {
        if (flight.timer !== timer) return;
        flight.timer = undefined;
        flight.armedFor = Number.POSITIVE_INFINITY;
        const now = this.#clock.now();
        let next = Number.POSITIVE_INFINITY;
        const remaining: Waiter[] = [];
        for (const waiter of flight.waiters) {
          if (waiter.done) continue;
          if (waiter.deadline <= now) {
            waiter.done = true;
            flight.live--;
            waiter.cleanup?.();
            waiter.resolve(TIMED_OUT);
          } else {
            remaining.push(waiter);
            next = Math.min(next, waiter.deadline);
          }
        }
        flight.waiters = remaining;
        if (remaining.length > 0) this.#arm(flight, next);
      },
      () => {}, // cancelled: the flight settled or an earlier deadline re-armed it
    );
  }

  #settle(flight: Flight, result: FlightResult): void {
    flight.settled = result;
    flight.timer?.abort(CANCELLED);
    flight.timer = undefined;
    const waiters = flight.waiters;
    flight.waiters = [];
    flight.live = 0;
    for (const waiter of waiters) {
      if (waiter.done) continue;
      waiter.done = true;
      waiter.cleanup?.();
      waiter.resolve(result);
    }
  }

  async #execute(
    request: Req,
    acquired: Extract<IdempotencyBeginResult, { status: 'acquired' }>,
    id: string,
    scope: string,
    key: string,
    fingerprint: string,
    signal: AbortSignal | undefined,
  ): Promise<Executed<Res>> {
    const { token } = acquired;
    const flight: Flight = {
      settled: undefined,
      waiters: [],
      live: 0,
      timer: undefined,
      armedFor: Number.POSITIVE_INFINITY,
    };
    this.#flights.set(id, flight);
    let settled: FlightResult = { type: 'retry' };
    this.#events.emit({ type: 'acquired', scope, key, token, attempt: acquired.attempt });
    const store = this.#store;
    const leaseMs = this.#lease;
    const context: IdempotencyContext = {
      scope,
      key,
      fingerprint,
      token,
      attempt: acquired.attempt,
      progress: acquired.progress,
      signal,
      async checkpoint(progress: JsonValue): Promise<void> {
        let saved: boolean;
        try {
          saved = await store.checkpoint({ scope, key, token, progress, leaseMs });
        } catch (error: unknown) {
          throw new IdempotencyStoreError({ operation: 'checkpoint', scope, key }, { cause: error });
        }
        if (!saved) throw new IdempotencyLeaseLostError({ scope, key, token });
      },
    };
    try {
      let value: Res;
      try {
        value = await this.#handler(request, context);
      } catch (error: unknown) {
        if (isIdempotencyLeaseLostError(error) && error.token === token) {
          this.#events.emit({ type: 'lease_lost', scope, key, token });
          return { type: 'lost' };
        }
        if (!this.#isTerminal(error)) {
          await this.#release(scope, key, token);
          this.#events.emit({ type: 'released', scope, key, error });
          throw error;
        }
        const outcome = this.#prepare(() => ({ type: 'error', error: serializeError(error) }), scope, key);
        const saved = await this.#save(outcome, scope, key, token);
        if (saved === 'lost') return { type: 'lost' };
        settled = { type: 'outcome', outcome };
        if (saved === 'saved') this.#events.emit({ type: 'completed', scope, key, outcome: 'error' });
        throw error;
      }
      const outcome = this.#prepare(
        () => {
          const json = this.#serialize(value);
          return json === undefined ? { type: 'value' } : { type: 'value', value: json };
        },
        scope,
        key,
      );
      const saved = await this.#save(outcome, scope, key, token);
      if (saved === 'lost') return { type: 'lost' };
      settled = { type: 'outcome', outcome };
      if (saved === 'saved') this.#events.emit({ type: 'completed', scope, key, outcome: 'value' });
      return { type: 'done', result: { value, replayed: false, scope, key } };
    } finally {
      this.#settle(flight, settled);
      if (this.#flights.get(id) === flight) this.#flights.delete(id);
    }
  }

  #prepare(build: () => IdempotencyOutcome, scope: string, key: string): IdempotencyOutcome {
    try {
      const outcome = build();
      return this.#redact === undefined ? outcome : this.#redact(outcome);
    } catch (error: unknown) {
      // The handler's effect happened: keep the lease (no release) so no retry runs until it expires.
      throw new IdempotencyUnserializableError({ scope, key }, { cause: error });
    }
  }

  async #save(
    outcome: IdempotencyOutcome,
    scope: string,
    key: string,
    token: number,
  ): Promise<'saved' | 'lost' | 'failed'> {
    for (let attempt = 1; attempt <= SAVE_ATTEMPTS; attempt++) {
      try {
        const saved = await this.#store.complete({ scope, key, token, outcome, retentionMs: this.#retention });
        if (saved) return 'saved';
        this.#events.emit({ type: 'lease_lost', scope, key, token });
        return 'lost';
      } catch (error: unknown) {
        // Unsaved, the key stays leased until it expires; a retry then resumes from the last checkpoint.
        this.#events.emit({ type: 'store_error', scope, key, operation: 'complete', error });
      }
    }
    return 'failed';
  }

  async #release(scope: string, key: string, token: number): Promise<void> {
    try {
      await this.#store.release({ scope, key, token });
    } catch (error: unknown) {
      // The lease will expire on its own; the handler's error is what the caller needs to see.
      this.#events.emit({ type: 'store_error', scope, key, operation: 'release', error });
    }
  }
}

/**
 * Makes `handler` idempotent: the first call with a (scope, key) runs it; a repeat with the same key and
 * payload returns the saved outcome with `replayed: true`; a repeat while the first runs gets
 * {@link IdempotencyInProgressError} or, with `onInProgress: 'wait'`, waits for the outcome; a repeat with a
 * different payload gets {@link IdempotencyKeyReusedError}. Terminal errors are saved and replayed, other
 * errors release the key. A handler that performs several external effects saves recovery points with
 * `context.checkpoint()`, so a run that died can be resumed where it stopped.
 *
 * @param handler - The operation; gets the request and an {@link IdempotencyContext}.
 * @param options - Store, key and scope extractors, and policies; validated here.
 * @throws `ValidationError` on a bad option.
 * @example
 * ```ts
 * import { idempotent, MemoryIdempotencyStore } from 'system-design-blocks/idempotency';
 *
 * interface CreateOrder { customerId: string; idempotencyKey: string; items: string[] }
 *
 * let created = 0;
 * const createOrder = idempotent(async (req: CreateOrder) => ({ orderId: `o-${++created}`, items: req.items }), {
 *   store: new MemoryIdempotencyStore(),
 *   key: (req) => req.idempotencyKey,
 *   scope: (req) => req.customerId,
 * });
 *
 * const req = { customerId: 'c-1', idempotencyKey: 'k-1', items: ['sku-1'] };
 * const first = await createOrder(req);
 * const retry = await createOrder(req);
 * console.log(first.value.orderId, retry.value.orderId, retry.replayed, created); // o-1 o-1 true 1
 * ```
 */
export function idempotent<Req, Res>(
  handler: IdempotentHandler<Req, Res>,
  options: IdempotentOptions<Req, Res>,
): IdempotentFunction<Req, Res> {
  const engine = new IdempotencyEngine(handler, options);
  const run = (request: Req, callOptions?: IdempotentCallOptions): Promise<IdempotentResult<Res>> =>
    engine.run(request, callOptions);
  return Object.freeze(Object.assign(run, { onEvent: engine.onEvent }));
}
