/**
 * The saga orchestrator: runs saga definitions against a write-ahead {@link SagaLog}, compensates on failure,
 * recovers unfinished sagas after a crash, and lets an operator resume or skip.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  AbortedError,
  abortReason,
  type BackoffSchedule,
  type Clock,
  canonicalJson,
  Emitter,
  type JsonValue,
  systemClock,
} from '../core/index.js';
import {
  assertNonEmptyString,
  assertOptionalSignal,
  assertPositiveInteger,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from '../core/validation.js';
import { type AnyStepContext, type RetryPolicy, Saga, type SagaSpec, type StepSpec, sagaSpec } from './definition.js';
import {
  isSagaLeaseError,
  isSagaLogConflictError,
  isSagaStateError,
  SagaAlreadyExistsError,
  SagaDefinitionMismatchError,
  SagaLeaseError,
  SagaLogCorruptError,
  SagaNotFoundError,
  SagaNotRegisteredError,
  SagaOutputNotSerializableError,
  SagaRecordedError,
  SagaStateError,
  SagaStepTimeoutError,
} from './errors.js';
import { deepFreeze } from './internal.js';
import { type SagaLog, type SyncSagaLog, syncSagaLog } from './log.js';
import {
  type SagaEntry,
  type SagaErrorInfo,
  type SagaLogVerification,
  type SagaPhase,
  type SagaRecord,
  type SagaRecordBody,
  type SagaRecordType,
  toErrorInfo,
  verifyBeforeDriving,
  verifySagaRecords,
} from './records.js';
import { type SagaSnapshot, SagaState } from './state.js';

/** Outputs of a saga whose definition is only known at run time (recovery), by step name. */
export type SagaAnyOutputs = Readonly<Record<string, unknown>>;

/** Any built saga, whatever its input and outputs. */
export type AnySaga = Saga<never, unknown>;

/** How a saga ended (or stopped), discriminated by `status`. Nothing is swallowed: every failure is here. */
export type SagaResult<Outputs> =
  | {
      /** Every step succeeded (or was skipped by an operator). */
      readonly status: 'completed';
      /** The saga instance. */
      readonly sagaId: string;
      /** The definition name. */
      readonly sagaName: string;
      /** Every step's output, by name. */
      readonly outputs: Outputs;
    }
  | {
      /** A step before or at the pivot failed and every started step before the pivot was undone. */
      readonly status: 'compensated';
      /** The saga instance. */
      readonly sagaId: string;
      /** The definition name. */
      readonly sagaName: string;
      /** The step whose failure turned the saga back. */
      readonly failedStep: string;
      /** Its error: the thrown value when this orchestrator saw it, else a {@link SagaRecordedError}. */
      readonly error: unknown;
      /** Its failure as recorded. */
      readonly failure: SagaErrorInfo;
    }
  | {
      /** A compensation, or a step after the pivot, exhausted its retries: an operator must `resume` or `skip`. */
      readonly status: 'needs_intervention';
      /** The saga instance. */
      readonly sagaId: string;
      /** The definition name. */
      readonly sagaName: string;
      /** `forward` (a step after the pivot) or `compensation`. */
      readonly phase: SagaPhase;
      /** The step that gave up. */
      readonly step: string;
      /** Its last error: the thrown value when this orchestrator saw it, else a {@link SagaRecordedError}. */
      readonly error: unknown;
      /** Its last failure as recorded. */
      readonly failure: SagaErrorInfo;
    };

/** Options of {@link SagaOrchestrator}. */
export interface SagaOrchestratorOptions {
  /** Where records go; write-ahead: a step runs only once its `step_started` is durable. */
  readonly log: SagaLog;
  /** Clock of backoffs, timeouts and lease renewals. @defaultValue systemClock */
  readonly clock?: Clock;
  /** This orchestrator's name in leases and records. @defaultValue `${hostname}:${pid}:${random}` */
  readonly owner?: string;
  /** Definitions `recover()` and `resume()` may meet in the log (`run` registers its saga too). @defaultValue [] */
  readonly sagas?: readonly AnySaga[];
  /** Lease on each saga while driving it, in ms; renewed every third of it. @defaultValue 30_000 */
  readonly leaseMs?: number;
  /**
   * Wall-clock time stamped on records, in ms since the epoch. Separate from `clock` because a monotonic
   * clock means nothing to an auditor or another process. @defaultValue Date.now
   */
  readonly timestamp?: () => number;
  /**
   * Source of uniform numbers in [0, 1) for the jitter of every retry backoff (of steps and compensations)
   * whose definition did not give its own `backoff.random`: pass a seeded one to make whole runs
   * reproducible. @defaultValue Math.random
   */
  readonly random?: () => number;
}

/** Options of {@link SagaOrchestrator.run}. */
export interface SagaRunOptions {
  /** The instance id, e.g. the order id: makes the idempotency keys `${sagaId}:${step}`. @defaultValue a random UUID */
  readonly sagaId?: string;
  /**
   * Stops driving the saga (a shutdown, not a failure): the step in flight sees its own signal abort, nothing
   * more is written, the saga stays unfinished for `recover()`, and `run` rejects with the signal's reason
   * once that step has settled (give steps a `timeout` if they may ignore their signal). @defaultValue undefined
   */
  readonly signal?: AbortSignal;
}

/** Options of {@link SagaOrchestrator.recover}. */
export interface SagaRecoverOptions {
  /**
   * Sagas driven at once. Each waits on its log writes and its services, so a large recovery goes faster with
   * more in flight (a file log then writes their records together, one synchronized write for many); fewer
   * spare the downstream services right after a restart. Beyond a few hundred, more only holds more in memory.
   * @defaultValue 256
   */
  readonly concurrency?: number;
  /** Stops starting sagas and stops the ones being driven; `recover` then rejects with the reason. @defaultValue undefined */
  readonly signal?: AbortSignal;
}

/** Options of {@link SagaOrchestrator.resume}. */
export interface SagaResumeOptions {
  /** As for `run`. @defaultValue undefined */
  readonly signal?: AbortSignal;
}

/** Options of {@link SagaOrchestrator.skip}. */
export interface SagaSkipOptions {
  /** For a step after the pivot: the output later steps should see (JSON). @defaultValue undefined */
  readonly output?: JsonValue;
  /** As for `run`. @defaultValue undefined */
  readonly signal?: AbortSignal;
}

/**
 * Why `recover()` left a saga alone: it waits for an operator, another owner holds its lease, this
 * orchestrator is already driving it, or another driver finished it meanwhile.
 */
export type SagaSkipReason = 'needs_intervention' | 'claimed' | 'active' | 'finished';

/** A saga `recover()` left alone. */
export interface SagaRecoverySkip {
  /** The saga instance. */
  readonly sagaId: string;
  /** Why it was left alone. */
  readonly reason: SagaSkipReason;
}

/** A saga `recover()` could not drive. */
export interface SagaRecoveryFailure {
  /** The saga instance. */
  readonly sagaId: string;
  /** What stopped it ({@link SagaLogCorruptError}, {@link SagaDefinitionMismatchError}, a log error…). */
  readonly error: unknown;
}

/** What `recover()` did. */
export interface SagaRecoveryReport {
  /** The sagas driven to an end (or to `needs_intervention`). */
  readonly results: readonly SagaResult<SagaAnyOutputs>[];
  /** Sagas left alone: waiting for an operator, leased by another owner, or already driven here. */
  readonly skipped: readonly SagaRecoverySkip[];
  /** Sagas that could not be driven: a broken hash chain, a changed definition, a log error. */
  readonly failed: readonly SagaRecoveryFailure[];
}

/** The entry of one type, as emitted by the orchestrator's events. */
export type SagaEntryOf<T extends SagaRecordType> = Extract<
  SagaEntry,
  {
    /** The entry's type. */
    readonly type: T;
  }
>;

/** Options of {@link SagaOrchestrator.verifyLog}. */
export interface SagaVerifyOptions {
  /** A head hash anchored earlier; see {@link VerifySagaRecordsOptions.expectedHead}. @defaultValue undefined */
  readonly expectedHead?: string;
}

/** What a {@link Drive} needs from its orchestrator. */
interface DriveHost {
  readonly log: SagaLog;
  /** The log's synchronous operations, when it has them (a MemorySagaLog). */
  readonly sync: SyncSagaLog | undefined;
  readonly owner: string;
  timestamp(): number;
  /** True when some event has a listener. */
  listening(): boolean;
  emit(entry: SagaEntry): void;
}

/** One saga being driven by this orchestrator. */
class Drive {
  /**
   * Errors this driver saw, by phase and step (`forward:charge`): results carry the thrown value rather
   * than its recorded form. Created on the first failure.
   */
  errors: Map<string, unknown> | undefined;
  /** Step and compensation calls that have not settled yet. */
  inflight = 0;
  readonly #outputsByGroup: (SagaAnyOutputs | undefined)[] = [];
  #controller: AbortController | undefined;
  #stopped = false;
  #reason: unknown;
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  /** Set while a parallel group runs: appends must then queue behind each other. */
  concurrent = false;
  /** Counts a settled user call (created for the first timed-out-able call only). */
  #settle: (() => void) | undefined;

  get settle(): () => void {
    this.#settle ??= () => {
      this.inflight--;
    };
    return this.#settle;
  }

  /** Remembers the error a step (`forward`) or compensation threw. */
  saw(phase: SagaPhase, step: string, error: unknown): void {
    this.errors ??= new Map();
    this.errors.set(`${phase}:${step}`, error);
  }

  /** The error seen for a step in a phase, if this driver saw one. */
  seen(phase: SagaPhase, step: string): unknown {
    return this.errors?.get(`${phase}:${step}`);
  }

  /** Entries already applied to the state that go out with the next write (a step's completion). */
  #deferred: SagaEntry[] = [];

  constructor(
    readonly spec: SagaSpec,
    readonly state: SagaState,
    readonly host: DriveHost,
  ) {}

  /** Aborted when the drive stops; created on first use (most steps never look at it). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#stopped) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  stop(reason: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  throwIfStopped(): void {
    if (this.#stopped) throw this.#reason;
  }

  /** Builds the next entry and applies it to the state at once (a failed write stops the drive anyway). */
  #entry(body: SagaRecordBody): SagaEntry {
    const state = this.state;
    const host = this.host;
    let entry: SagaEntry;
    // One object literal per common type (a fixed shape, no copying); the rest are rare.
    switch (body.type) {
      case 'step_started':
        entry = Object.freeze({
          sagaId: state.sagaId,
          seq: state.version,
          at: host.timestamp(),
          owner: host.owner,
          type: 'step_started',
          step: body.step,
          attempt: body.attempt,
        });
        break;
      case 'step_completed':
        // The output is a deep-frozen copy (jsonCopy): freezing the entry freezes it whole.
        entry = Object.freeze(
          body.output === undefined
            ? {
                sagaId: state.sagaId,
                seq: state.version,
                at: host.timestamp(),
                owner: host.owner,
                type: body.type,
                step: body.step,
              }
            : {
                sagaId: state.sagaId,
                seq: state.version,
                at: host.timestamp(),
                owner: host.owner,
                type: body.type,
                step: body.step,
                output: body.output,
              },
        );
        break;
      case 'saga_completed':
        entry = Object.freeze({
          sagaId: state.sagaId,
          seq: state.version,
          at: host.timestamp(),
          owner: host.owner,
          type: body.type,
        });
        break;
      default:
        entry = deepFreeze({
          sagaId: state.sagaId,
          seq: state.version,
          at: host.timestamp(),
          owner: host.owner,
          ...body,
        });
    }
    // Every entry is frozen whole (listeners get it too), so the log need not walk it to freeze it.
    state.apply(entry);
    return entry;
  }

  /**
   * Records `body` with the next write instead of on its own: a completion nothing waits on yet. The next
   * step's `step_started` (or the saga's next decision) carries it, so it is still durable before anything
   * that depends on it runs; a crash in between only means the step runs again, as after any crash.
   */
  defer(body: SagaRecordBody): void {
    this.throwIfStopped();
    this.#deferred.push(this.#entry(body));
  }

  /**
   * Writes `body`, after any deferred entries. Returns `undefined` when the write is already done (a log that
   * writes synchronously, see `syncSagaLog`), else a promise that resolves once it is durable. Writes go out
   * one after the other: parallel steps share one version line.
   */
  append(body: SagaRecordBody): Promise<unknown> | undefined {
    this.throwIfStopped();
    const entry = this.#entry(body);
    let entries: SagaEntry[];
    if (this.#deferred.length === 0) entries = [entry];
    else {
      entries = this.#deferred;
      entries.push(entry);
      this.#deferred = [];
    }
    const sync = this.host.sync;
    if (sync !== undefined) {
      try {
        sync.append(entries);
      } catch (error: unknown) {
        this.stop(error); // as in #write
        throw error;
      }
      if (this.host.listening()) for (const e of entries) this.host.emit(e);
      return undefined;
    }
    if (!this.concurrent && this.#pending === 0) {
      if (this.#stopped) return Promise.reject(this.#reason);
      // Alone, with nobody listening: the log's own promise will do. Nothing else runs that a failed write
      // would have to stop: the error reaches `#execute` through the caller.
      if (!this.host.listening()) return this.host.log.append(entries);
      return this.#write(entries);
    }
    const run = (): Promise<void> => this.#write(entries);
    const p = this.#pending === 0 ? run() : this.#tail.then(run);
    this.#pending++;
    this.#tail = p.then(
      () => {
        this.#pending--;
      },
      () => {
        this.#pending--;
      },
    );
    return p;
  }

  async #write(entries: SagaEntry[]): Promise<void> {
    if (this.#stopped) throw this.#reason;
    try {
      await this.host.log.append(entries);
    } catch (error: unknown) {
      // Someone else wrote (a lost lease) or the log failed: either way this driver must stop.
      this.stop(error);
      throw error;
    }
    for (const entry of entries) this.host.emit(entry);
  }

  /**
   * Outputs of the steps in groups before `group`, frozen; the same object for every step of a group (earlier
   * outputs never change once a later group runs). Built on demand, straight from the state.
   */
  outputsBefore(group: number): SagaAnyOutputs {
    let outputs = this.#outputsByGroup[group];
    if (outputs === undefined) {
      const o: Record<string, unknown> = {};
      const all = this.state.outputs;
      const steps = this.spec.steps;
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i] as StepSpec;
        if (step.group >= group) break;
        const value = all[step.name];
        if (value !== undefined || Object.hasOwn(all, step.name)) o[step.name] = value;
      }
      outputs = Object.freeze(o);
      this.#outputsByGroup[group] = outputs;
    }
    return outputs;
  }
}

/**
 * The context a step function receives. A class, so that `signal` is a getter on the prototype and the
 * AbortController behind it is only created for steps that look at it.
 */
class StepContext implements AnyStepContext {
  readonly sagaId: string;
  readonly sagaName: string;
  readonly step: string;
  readonly input: unknown;
  readonly idempotencyKey: string;
  readonly attempt: number;
  readonly #drive: Drive;
  readonly #group: number;
  readonly #signal: AbortSignal | undefined;

  constructor(drive: Drive, step: StepSpec, attempt: number, signal: AbortSignal | undefined) {
    const state = drive.state;
    this.sagaId = state.sagaId;
    this.sagaName = state.sagaName;
    this.step = step.name;
    this.input = state.input;
    this.idempotencyKey = `${state.sagaId}:${step.name}`;
    this.attempt = attempt;
    this.#drive = drive;
    this.#group = step.group;
    this.#signal = signal;
  }

  /** Built on first use, once per group: many steps never look at the outputs before them. */
  get outputs(): SagaAnyOutputs {
    return this.#drive.outputsBefore(this.#group);
  }

  get signal(): AbortSignal {
    return this.#signal ?? this.#drive.signal;
  }
}

/** The context a compensation receives: the step's, plus what is known of its outcome. */
class CompensationContext extends StepContext {
  readonly completed: boolean;
  readonly output: unknown;

  constructor(drive: Drive, step: StepSpec, attempt: number, signal: AbortSignal | undefined) {
    super(drive, step, attempt, signal);
    this.completed = drive.state.step(step.name).completed;
    this.output = this.completed ? drive.state.outputs[step.name] : undefined;
  }
}

type ContextClass = new (drive: Drive, step: StepSpec, attempt: number, signal: AbortSignal | undefined) => StepContext;

/** A step's `run` or `compensate`, as the orchestrator calls it. */
type StepFunction = (context: StepContext) => unknown;

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_RECOVERY_CONCURRENCY = 256;

function defaultOwner(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * A frozen JSON copy of `value`, object keys in sorted order; `undefined` when `value` is. Primitives and flat
 * plain objects of primitives (most step outputs) are copied in one pass; anything else is checked by
 * `canonicalJson` and copied through its text, so both paths accept exactly the same values. Sorted keys
 * make the records' JSON canonical as it stands, so sealing them is a plain `JSON.stringify`.
 */
function jsonCopy(value: unknown, argument: string): JsonValue | undefined {
  switch (typeof value) {
    case 'undefined':
      return undefined;
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
    case 'object': {
      if (value === null) return null;
      const flat = flatCopy(value);
      if (flat !== undefined) return flat;
      break;
    }
    default:
      break;
  }
  return deepFreeze(JSON.parse(canonicalJson(value, argument)) as JsonValue);
}

/**
 * A frozen copy of a plain object whose values are all JSON primitives, or `undefined` for anything else.
 * (Symbol keys are dropped, as `canonicalJson` drops them.)
 */
function flatCopy(value: object): JsonValue | undefined {
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || Array.isArray(value)) return undefined;
  let copy: Record<string, JsonValue> = {};
  let last: string | undefined;
  let sorted = true;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (key === '__proto__') return undefined; // an own "__proto__" (from JSON.parse): copy it the safe way
    const v: unknown = (value as Record<string, unknown>)[key];
    if (v === undefined) continue; // dropped, as JSON does
    if (typeof v === 'string' || typeof v === 'boolean' || v === null) copy[key] = v;
    else if (typeof v === 'number' && Number.isFinite(v)) copy[key] = v;
    else return undefined;
    if (last !== undefined && !(last < key)) sorted = false;
    last = key;
  }
  if (!sorted) {
    const unsorted = copy;
    copy = {};
    for (const key of Object.keys(unsorted).sort()) copy[key] = unsorted[key] as JsonValue;
  }
  return Object.freeze(copy);
}

function isSagaLog(value: unknown): value is SagaLog {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['append', 'read', 'claim', 'release', 'listUnfinished'].every((m) => typeof v[m] === 'function');
}

/**
 * Runs sagas step by step against a write-ahead log. Each step's `step_started` record is durable before the
 * step runs and its output is recorded when it completes, so after a crash `recover()` knows exactly where
 * every saga stood: it re-runs interrupted steps with the same idempotency key, compensates the sagas that
 * were turning back, and finishes the ones past their pivot.
 *
 * @example
 * ```ts
 * import { MemorySagaLog, SagaOrchestrator, defineSaga } from 'system-design-blocks/saga';
 *
 * const reserved = new Set<string>();
 * const order = defineSaga<{ sku: string }>('order')
 *   .step('reserve', {
 *     run: ({ idempotencyKey }) => void reserved.add(idempotencyKey),
 *     compensate: ({ idempotencyKey }) => void reserved.delete(idempotencyKey),
 *   })
 *   .step('charge', {
 *     run: () => {
 *       throw new Error('card declined');
 *     },
 *     compensate: () => {},
 *   })
 *   .build();
 *
 * const orchestrator = new SagaOrchestrator({ log: new MemorySagaLog() });
 * const result = await orchestrator.run(order, { sku: 'mug' }, { sagaId: 'order-7' });
 * console.log(result.status, reserved.size); // compensated 0
 * ```
 */
export class SagaOrchestrator {
  /** This orchestrator's name in leases and records. */
  readonly owner: string;
  readonly #log: SagaLog;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #timestamp: () => number;
  readonly #random: () => number;
  readonly #sagas = new Map<string, SagaSpec>();
  readonly #active = new Map<string, Drive>();
  #beating = false;
  readonly #host: DriveHost;

  readonly #emitters: readonly { readonly size: number }[];
  /** The log's synchronous operations, when it has them: nothing to await then. */
  readonly #sync: SyncSagaLog | undefined;
  readonly #entry = new Emitter<SagaEntry>();
  readonly #sagaStarted = new Emitter<SagaEntryOf<'saga_started'>>();
  readonly #stepStarted = new Emitter<SagaEntryOf<'step_started'>>();
  readonly #stepCompleted = new Emitter<SagaEntryOf<'step_completed'>>();
  readonly #stepFailed = new Emitter<SagaEntryOf<'step_failed'>>();
  readonly #compensating = new Emitter<SagaEntryOf<'saga_compensating'>>();
  readonly #compensationStarted = new Emitter<SagaEntryOf<'compensation_started'>>();
  readonly #compensationCompleted = new Emitter<SagaEntryOf<'compensation_completed'>>();
  readonly #compensationFailed = new Emitter<SagaEntryOf<'compensation_failed'>>();
  readonly #intervention = new Emitter<SagaEntryOf<'saga_needs_intervention'>>();
  readonly #completed = new Emitter<SagaEntryOf<'saga_completed'>>();
  readonly #compensated = new Emitter<SagaEntryOf<'saga_compensated'>>();

  /** Every entry this orchestrator wrote, once durable (the log adds the hash chain). */
  readonly onEntry = this.#entry.subscribe;
  /** A saga began (`saga_started` is durable). */
  readonly onSagaStarted = this.#sagaStarted.subscribe;
  /** A step attempt is about to run (its `step_started` is durable). */
  readonly onStepStarted = this.#stepStarted.subscribe;
  /** A step completed; the record carries its output. */
  readonly onStepCompleted = this.#stepCompleted.subscribe;
  /** A step attempt failed; `retryInMs` tells whether another follows. */
  readonly onStepFailed = this.#stepFailed.subscribe;
  /** A saga turned back after a failure before or at its pivot. */
  readonly onSagaCompensating = this.#compensating.subscribe;
  /** A compensation attempt is about to run. */
  readonly onCompensationStarted = this.#compensationStarted.subscribe;
  /** A compensation succeeded. */
  readonly onCompensationCompleted = this.#compensationCompleted.subscribe;
  /** A compensation attempt failed. */
  readonly onCompensationFailed = this.#compensationFailed.subscribe;
  /** A saga stopped for an operator. */
  readonly onSagaNeedsIntervention = this.#intervention.subscribe;
  /** A saga completed. */
  readonly onSagaCompleted = this.#completed.subscribe;
  /** A saga finished compensating. */
  readonly onSagaCompensated = this.#compensated.subscribe;

  /**
   * @param options - The log and settings; validated here.
   * @throws {@link ValidationError} naming the option at fault.
   */
  constructor(options: SagaOrchestratorOptions) {
    if (typeof options !== 'object' || options === null) invalid('options', 'an options object with a log', options);
    const o = optionsObject(options, 'options');
    if (!isSagaLog(o.log)) invalid('options.log', 'a SagaLog', o.log);
    const clock = o.clock ?? systemClock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      invalid('options.clock', 'a Clock', clock);
    }
    const owner = o.owner ?? defaultOwner();
    assertNonEmptyString(owner, 'options.owner');
    const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
    assertPositiveNumber(leaseMs, 'options.leaseMs');
    const timestamp = o.timestamp ?? Date.now;
    if (typeof timestamp !== 'function') invalid('options.timestamp', 'a function', timestamp);
    const random = o.random ?? Math.random;
    if (typeof random !== 'function') invalid('options.random', 'a function returning numbers in [0, 1)', random);
    const sagas = o.sagas ?? [];
    if (!Array.isArray(sagas)) invalid('options.sagas', 'an array of sagas', sagas);
    this.#log = o.log;
    this.#clock = clock;
    this.owner = owner;
    this.#leaseMs = leaseMs;
    this.#timestamp = timestamp;
    this.#random = random;
    const staged = new Map<string, SagaSpec>();
    sagas.forEach((saga: unknown, i) => {
      const spec = this.#specOf(saga, `options.sagas[${i}]`);
      const known = staged.get(spec.name);
      if (known !== undefined && known !== spec) {
        invalid(`options.sagas[${i}]`, `one definition per name ("${spec.name}" is given twice)`, saga);
      }
      staged.set(spec.name, spec);
    });
    for (const [name, spec] of staged) this.#sagas.set(name, spec);
    this.#emitters = [
      this.#entry,
      this.#sagaStarted,
      this.#stepStarted,
      this.#stepCompleted,
      this.#stepFailed,
      this.#compensating,
      this.#compensationStarted,
      this.#compensationCompleted,
      this.#compensationFailed,
      this.#intervention,
      this.#completed,
      this.#compensated,
    ];
    this.#sync = syncSagaLog(o.log);
    this.#host = {
      log: this.#log,
      sync: this.#sync,
      owner,
      timestamp,
      listening: () => {
        for (const emitter of this.#emitters) if (emitter.size > 0) return true;
        return false;
      },
      emit: (entry) => this.#emit(entry),
    };
  }

  /**
   * Makes a definition known to `recover()` and `resume()`.
   *
   * @throws {@link ValidationError} when another definition has the same name.
   */
  register(saga: AnySaga): void {
    this.#register(saga, 'saga');
  }

  /**
   * Runs a new saga to its end: `completed`, `compensated` (a step before or at the pivot failed and every
   * started step was undone) or `needs_intervention`.
   *
   * @param saga - The definition.
   * @param input - The input (JSON; recorded for recovery).
   * @param options - The instance id and a signal.
   * @throws {@link ValidationError} for non-JSON input; {@link SagaAlreadyExistsError} when the id is taken;
   *   {@link SagaLeaseError} when the lease is lost; {@link SagaLogConflictError} or the log's errors;
   *   the signal's reason when aborted. In every case the saga stays recoverable.
   */
  run<Input, Outputs>(
    saga: Saga<Input, Outputs>,
    input: Input,
    options: SagaRunOptions = {},
  ): Promise<SagaResult<Outputs>> {
    // Not `async`: one promise per saga fewer; every error still comes back as a rejection.
    let spec: SagaSpec;
    let sagaId: string;
    let signal: AbortSignal | undefined;
    let recordedInput: JsonValue | undefined;
    try {
      spec = this.#register(saga as unknown as AnySaga, 'saga');
      const o = optionsObject(options, 'options');
      sagaId = o.sagaId ?? randomUUID();
      assertNonEmptyString(sagaId, 'options.sagaId');
      assertOptionalSignal(o.signal, 'options.signal');
      signal = o.signal;
      recordedInput = jsonCopy(input, 'input');
      if (this.#active.has(sagaId)) throw new SagaAlreadyExistsError(sagaId);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    const started: SagaRecordBody =
      recordedInput === undefined
        ? { type: 'saga_started', saga: spec.name, steps: spec.stepNames }
        : { type: 'saga_started', saga: spec.name, steps: spec.stepNames, input: recordedInput };
    // Written with the first step's `step_started`: a saga whose first step never started never existed.
    return this.#execute(sagaId, spec, signal, true, started) as Promise<SagaResult<Outputs>>;
  }

  /**
   * Drives every unfinished saga in the log to its end, `concurrency` at a time. Leaves alone the sagas that
   * wait for an operator or are leased by someone else; reports the ones that cannot be driven.
   *
   * @throws {@link SagaNotRegisteredError} before driving anything when a saga's definition is unknown;
   *   the signal's reason when aborted.
   */
  async recover(options: SagaRecoverOptions = {}): Promise<SagaRecoveryReport> {
    const o = optionsObject(options, 'options');
    const concurrency = o.concurrency ?? DEFAULT_RECOVERY_CONCURRENCY;
    assertPositiveInteger(concurrency, 'options.concurrency');
    assertOptionalSignal(o.signal, 'options.signal');
    const signal = o.signal;
    if (signal?.aborted) throw abortReason(signal);
    const ids = await this.#log.listUnfinished();
    const heads = new Map<string, readonly SagaRecord[]>();
    const unknownNames = new Set<string>();
    const unknownIds: string[] = [];
    await this.#pool(ids, concurrency, signal, async (sagaId) => {
      const records = await this.#log.read(sagaId);
      heads.set(sagaId, records);
      const first = records[0];
      if (first?.type === 'saga_started' && !this.#sagas.has(first.saga)) {
        unknownNames.add(first.saga);
        unknownIds.push(sagaId);
      }
    });
    if (unknownIds.length > 0) throw new SagaNotRegisteredError([...unknownNames], unknownIds);
    const results: SagaResult<SagaAnyOutputs>[] = [];
    const skipped: SagaRecoverySkip[] = [];
    const failed: SagaRecoveryFailure[] = [];
    await this.#pool(ids, concurrency, signal, async (sagaId) => {
      const records = heads.get(sagaId) ?? [];
      if (records.length === 0) return;
      if (this.#active.has(sagaId)) {
        skipped.push({ sagaId, reason: 'active' });
        return;
      }
      if (records[records.length - 1]?.type === 'saga_needs_intervention') {
        skipped.push({ sagaId, reason: 'needs_intervention' });
        return;
      }
      try {
        const spec = this.#specFor(sagaId, records);
        const result = await this.#execute(sagaId, spec, signal, false, (drive) => {
          // Checked again under the lease: another driver may have moved it on since the list was read;
          // and recover() never un-parks a saga, only resume() and skip() do.
          const status = drive.state.status;
          if (status === 'needs_intervention' || status === 'completed' || status === 'compensated') {
            throw new SagaStateError(sagaId, status, 'recover', 'it is not unfinished any more');
          }
          return undefined;
        });
        results.push(result);
      } catch (error: unknown) {
        if (signal?.aborted) return;
        if (isSagaLeaseError(error)) skipped.push({ sagaId, reason: 'claimed' });
        else if (isSagaStateError(error)) {
          const reason: SagaSkipReason =
            error.status === 'needs_intervention'
              ? 'needs_intervention'
              : error.status === 'running'
                ? 'active'
                : 'finished';
          skipped.push({ sagaId, reason });
        } else failed.push({ sagaId, error });
      }
    });
    if (signal?.aborted) throw abortReason(signal);
    return { results, skipped, failed };
  }

  /**
   * Drives one saga on: after an operator fixed what made it need intervention (a fresh retry budget for
   * every step), or an unfinished saga nobody is driving. A finished saga's result is returned as is.
   *
   * @throws {@link SagaNotFoundError}, {@link SagaNotRegisteredError}, {@link SagaDefinitionMismatchError},
   *   {@link SagaLogCorruptError}, {@link SagaLeaseError}, {@link SagaStateError} when this orchestrator is
   *   already driving it; the signal's reason when aborted.
   */
  async resume(sagaId: string, options: SagaResumeOptions = {}): Promise<SagaResult<SagaAnyOutputs>> {
    assertNonEmptyString(sagaId, 'sagaId');
    const o = optionsObject(options, 'options');
    assertOptionalSignal(o.signal, 'options.signal');
    const records = await this.#log.read(sagaId);
    if (records.length === 0) throw new SagaNotFoundError(sagaId);
    const spec = this.#specFor(sagaId, records);
    return this.#execute(sagaId, spec, o.signal, false, async (drive) => {
      if (drive.state.status === 'needs_intervention') await drive.append({ type: 'saga_resumed' });
    });
  }

  /**
   * For a saga that needs intervention: records that an operator dealt with `step` by hand (a step after the
   * pivot: done, with an optional `output`; a compensation: undone), then drives the saga on.
   *
   * @throws {@link SagaStateError} when the saga does not need intervention or `step` is not pending in its
   *   phase; {@link ValidationError} for a non-JSON output; as {@link SagaOrchestrator.resume} otherwise.
   */
  async skip(sagaId: string, step: string, options: SagaSkipOptions = {}): Promise<SagaResult<SagaAnyOutputs>> {
    assertNonEmptyString(sagaId, 'sagaId');
    assertNonEmptyString(step, 'step');
    const o = optionsObject(options, 'options');
    assertOptionalSignal(o.signal, 'options.signal');
    const output = jsonCopy(o.output, 'options.output');
    const records = await this.#log.read(sagaId);
    if (records.length === 0) throw new SagaNotFoundError(sagaId);
    const spec = this.#specFor(sagaId, records);
    return this.#execute(sagaId, spec, o.signal, false, async (drive) => {
      const state = drive.state;
      if (state.status !== 'needs_intervention' || state.intervention === undefined) {
        throw new SagaStateError(sagaId, state.status, `skip "${step}"`, 'only a saga that needs intervention');
      }
      const stepSpec = spec.byName.get(step);
      const facts = state.step(step);
      if (state.intervention.phase === 'forward') {
        if (stepSpec?.kind !== 'retriable' || facts.completed || facts.skipped) {
          throw new SagaStateError(sagaId, state.status, `skip "${step}"`, 'not a pending step after the pivot');
        }
        await drive.append(
          output === undefined ? { type: 'step_skipped', step } : { type: 'step_skipped', step, output },
        );
      } else {
        if (stepSpec?.kind !== 'compensatable' || !facts.started || facts.compensated || facts.compensationSkipped) {
          throw new SagaStateError(sagaId, state.status, `skip "${step}"`, 'not a pending compensation');
        }
        await drive.append({ type: 'compensation_skipped', step });
      }
      await drive.append({ type: 'saga_resumed' });
    });
  }

  /**
   * The saga's state as the log tells it (the definition need not be registered).
   *
   * @throws {@link SagaNotFoundError} for an unknown id.
   */
  async status(sagaId: string): Promise<SagaSnapshot> {
    assertNonEmptyString(sagaId, 'sagaId');
    const records = await this.#log.read(sagaId);
    if (records.length === 0) throw new SagaNotFoundError(sagaId);
    const state = new SagaState(sagaId);
    for (const record of records) state.apply(record);
    return state.snapshot();
  }

  /**
   * Checks the saga's hash chain: detects any edited, removed, inserted or reordered record (and a removed
   * tail, given a head anchored earlier).
   *
   * @throws {@link SagaNotFoundError} for an unknown id.
   */
  async verifyLog(sagaId: string, options: SagaVerifyOptions = {}): Promise<SagaLogVerification> {
    assertNonEmptyString(sagaId, 'sagaId');
    const o = optionsObject(options, 'options');
    const records = await this.#log.read(sagaId);
    if (records.length === 0) throw new SagaNotFoundError(sagaId);
    return verifySagaRecords(records, {
      sagaId,
      ...(o.expectedHead === undefined ? {} : { expectedHead: o.expectedHead }),
    });
  }

  // ---------------------------------------------------------------------------------------------------------

  #specOf(saga: unknown, argument: string): SagaSpec {
    if (!Saga.isSaga(saga)) invalid(argument, 'a saga built with defineSaga(...).build()', saga);
    return sagaSpec(saga);
  }

  #register(saga: AnySaga, argument: string): SagaSpec {
    const spec = this.#specOf(saga, argument);
    const known = this.#sagas.get(spec.name);
    if (known !== undefined && known !== spec) {
      invalid(argument, `the definition registered as "${spec.name}" (another one has that name)`, saga);
    }
    this.#sagas.set(spec.name, spec);
    return spec;
  }

  #specFor(sagaId: string, records: readonly SagaRecord[]): SagaSpec {
    const first = records[0];
    if (first?.type !== 'saga_started')
      throw new SagaLogCorruptError(sagaId, 0, 'the first record is not saga_started');
    const spec = this.#sagas.get(first.saga);
    if (spec === undefined) throw new SagaNotRegisteredError([first.saga], [sagaId]);
    return spec;
  }

  async #pool(
    ids: readonly string[],
    concurrency: number,
    signal: AbortSignal | undefined,
    work: (id: string) => Promise<void>,
  ): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length && !signal?.aborted) {
        const id = ids[next++] as string;
        await work(id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  }

  /**
   * Claims the saga, replays its log, runs `prepare` (the first records of resume/skip, or the entry that
   * starts a new saga, deferred), drives it and releases the lease. Every path that writes goes through here.
   */
  async #execute(
    sagaId: string,
    spec: SagaSpec,
    signal: AbortSignal | undefined,
    creating: boolean,
    prepare: ((drive: Drive) => Promise<void> | undefined) | SagaRecordBody,
  ): Promise<SagaResult<SagaAnyOutputs>> {
    if (this.#active.has(sagaId)) {
      throw new SagaStateError(sagaId, 'running', 'drive it', 'this orchestrator is already driving it');
    }
    if (signal?.aborted) throw abortReason(signal);
    const state = new SagaState(sagaId);
    const drive = new Drive(spec, state, this.#host);
    this.#active.set(sagaId, drive);
    const onAbort = signal === undefined ? undefined : (): void => drive.stop(abortReason(signal));
    if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, { once: true });
    let claimed = false;
    try {
      const sync = this.#sync;
      const claim =
        sync !== undefined
          ? sync.claim(sagaId, this.owner, this.#leaseMs)
          : await this.#log.claim(sagaId, this.owner, this.#leaseMs);
      if (!claim.acquired) {
        if (creating && (await this.#log.read(sagaId)).length > 0) throw new SagaAlreadyExistsError(sagaId);
        throw new SagaLeaseError(sagaId, this.owner, claim.owner);
      }
      claimed = true;
      this.#startHeartbeat();
      // A new saga needs no read: its first append, at version 0, fails if the id is taken.
      const records = creating ? [] : await this.#log.read(sagaId);
      if (records.length > 0) {
        const verdict = verifyBeforeDriving(records, sagaId);
        if (!verdict.ok) throw new SagaLogCorruptError(sagaId, verdict.index, verdict.message);
        for (const record of records) state.apply(record);
        if (state.sagaName !== spec.name || !sameNames(state.stepNames, spec.stepNames)) {
          throw new SagaDefinitionMismatchError(sagaId, state.sagaName, state.stepNames, spec.stepNames);
        }
      }
      drive.throwIfStopped();
      if (typeof prepare !== 'function') drive.defer(prepare);
      else {
        const prepared = prepare(drive);
        if (prepared !== undefined) await prepared;
      }
      return await this.#drive(drive);
    } catch (error: unknown) {
      // The first write of a new saga found the id taken: someone else started a saga with it.
      if (creating && isSagaLogConflictError(error) && error.expectedVersion === 0) {
        throw new SagaAlreadyExistsError(sagaId);
      }
      throw error;
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      this.#active.delete(sagaId);
      // Calls abandoned after a timeout may still run: their signal says the saga is no longer driven here.
      if (drive.inflight > 0) drive.stop(new AbortedError('the saga is no longer driven by this orchestrator'));
      if (claimed) {
        try {
          if (this.#sync !== undefined) this.#sync.release(sagaId, this.owner);
          else await this.#log.release(sagaId, this.owner);
        } catch {
          // A failed release is harmless: the lease expires on its own.
        }
      }
    }
  }

  /**
   * Drives a claimed saga to its end: forward group after group, then `saga_completed`; back through the
   * compensations after a failure. A single step's first attempt runs right here (most steps succeed at once:
   * one await on the step, none on an in-memory log); failures, retries and parallel groups go through
   * #runStep. Kept small: every await saves this frame.
   */
  async #drive(drive: Drive): Promise<SagaResult<SagaAnyOutputs>> {
    const state = drive.state;
    for (;;) {
      drive.throwIfStopped();
      const status = state.status;
      if (status === 'compensating') await this.#backward(drive);
      else if (status !== 'running') return this.#result(drive);
      else {
        const groups = drive.spec.groups;
        let turned = false;
        for (let g = 0; g < groups.length && !turned; g++) {
          const group = groups[g] as readonly StepSpec[];
          if (group.length !== 1) turned = await this.#forwardGroup(drive, group);
          else {
            const step = group[0] as StepSpec;
            const f = state.step(step.name);
            if (!f.completed && !f.skipped && !f.gaveUp) {
              const attempt = f.attempts + 1;
              const writing = this.#startAttempt(drive, step, attempt);
              if (writing !== undefined) await writing;
              let outcome: unknown;
              let failed = false;
              try {
                outcome = this.#invoke(drive, step, step.run as StepFunction, StepContext, attempt);
                if (isPromiseLike(outcome)) outcome = await outcome;
              } catch (error: unknown) {
                failed = true;
                outcome = error;
              }
              drive.throwIfStopped();
              const next = failed
                ? this.#runStep(drive, step, attempt, outcome)
                : this.#recordSuccess(drive, step, attempt, outcome);
              if (next !== undefined) await next;
            }
            if (f.gaveUp) {
              await this.#turn(drive, step);
              turned = true;
            }
          }
        }
        if (!turned) {
          const writing = drive.append({ type: 'saga_completed' });
          if (writing !== undefined) await writing;
        }
      }
    }
  }

  /** Writes an attempt's `step_started`: `undefined` when already durable, else the pending write. */
  #startAttempt(drive: Drive, step: StepSpec, attempt: number): Promise<unknown> | undefined {
    drive.throwIfStopped();
    return drive.append({ type: 'step_started', step: step.name, attempt });
  }

  /**
   * Runs the pending steps of a parallel group, concurrently, and turns the saga when one gave up (the one
   * that failed first). Resolves `true` when the saga turned back or stopped for an operator.
   */
  async #forwardGroup(drive: Drive, group: readonly StepSpec[]): Promise<boolean> {
    const state = drive.state;
    const pending = group.filter((s) => isPending(state, s));
    if (pending.length === 1) {
      await this.#runStep(drive, pending[0] as StepSpec);
    } else if (pending.length > 1) {
      drive.concurrent = true;
      const settled = await Promise.allSettled(pending.map((s) => this.#runStep(drive, s)));
      drive.concurrent = false;
      for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
    }
    let first: StepSpec | undefined;
    for (const s of group) {
      const f = state.step(s.name);
      if (f.gaveUp && (first === undefined || f.order < state.step(first.name).order)) first = s;
    }
    if (first === undefined) return false;
    await this.#turn(drive, first);
    return true;
  }

  /** A step gave up: the saga turns back (before or at the pivot) or stops for an operator (after it). */
  async #turn(drive: Drive, step: StepSpec): Promise<void> {
    const error = drive.state.step(step.name).error ?? toErrorInfo(undefined);
    await drive.append(
      step.kind === 'retriable'
        ? { type: 'saga_needs_intervention', phase: 'forward', step: step.name, error }
        : { type: 'saga_compensating', step: step.name, error },
    );
  }

  async #backward(drive: Drive): Promise<void> {
    const state = drive.state;
    const todo = drive.spec.steps
      .filter((s) => {
        const f = state.step(s.name);
        return s.kind === 'compensatable' && f.started && !f.compensated && !f.compensationSkipped;
      })
      .sort((a, b) => state.step(b.name).order - state.step(a.name).order);
    for (const s of todo) {
      if (!(await this.#compensate(drive, s))) {
        const error = state.step(s.name).compensationError ?? toErrorInfo(undefined);
        await drive.append({ type: 'saga_needs_intervention', phase: 'compensation', step: s.name, error });
        return;
      }
    }
    const failure = state.failure ?? { step: '', error: toErrorInfo(undefined) };
    await drive.append({ type: 'saga_compensated', step: failure.step, error: failure.error });
  }

  /**
   * Runs a step until it completes or gives up; throws only when the drive must stop. Given the number and
   * error of an attempt that just failed, it starts by recording that failure.
   */
  async #runStep(drive: Drive, step: StepSpec, failedAttempt = 0, firstFailure?: unknown): Promise<void> {
    const facts = drive.state.step(step.name);
    let schedule: BackoffSchedule | undefined;
    let attempt = failedAttempt;
    let failure = firstFailure;
    for (;;) {
      if (attempt === 0) {
        drive.throwIfStopped();
        attempt = facts.attempts + 1;
        await drive.append({ type: 'step_started', step: step.name, attempt });
        let output: unknown;
        let ok = true;
        try {
          output = this.#invoke(drive, step, step.run as StepFunction, StepContext, attempt);
          if (isPromiseLike(output)) output = await output;
        } catch (error: unknown) {
          ok = false;
          failure = error;
        }
        drive.throwIfStopped();
        if (ok) {
          const recording = this.#recordSuccess(drive, step, attempt, output);
          if (recording !== undefined) await recording;
          return;
        }
      }
      drive.saw('forward', step.name, failure);
      schedule ??= step.retry.backoff.start(this.#random);
      const delay = this.#retryDelay(step.retry, facts.failures + 1, failure, schedule);
      await drive.append(
        delay === undefined
          ? { type: 'step_failed', step: step.name, attempt, error: toErrorInfo(failure) }
          : { type: 'step_failed', step: step.name, attempt, error: toErrorInfo(failure), retryInMs: delay },
      );
      if (delay === undefined) return;
      await this.#backoff(delay, drive);
      attempt = 0;
    }
  }

  /**
   * Records a step's success: its output must be JSON, else the step fails for good with
   * {@link SagaOutputNotSerializableError}. The completion goes out with the next write, unless siblings run
   * beside it; returns the pending write when there is one.
   */
  #recordSuccess(drive: Drive, step: StepSpec, attempt: number, output: unknown): Promise<unknown> | undefined {
    let json: JsonValue | undefined;
    try {
      json = jsonCopy(output, `steps.${step.name} output`);
    } catch (error: unknown) {
      const rejected = new SagaOutputNotSerializableError(drive.state.sagaId, step.name, { cause: error });
      drive.saw('forward', step.name, rejected);
      return drive.append({ type: 'step_failed', step: step.name, attempt, error: toErrorInfo(rejected) });
    }
    const completed: SagaRecordBody =
      json === undefined
        ? { type: 'step_completed', step: step.name }
        : { type: 'step_completed', step: step.name, output: json };
    if (drive.concurrent) return drive.append(completed);
    drive.defer(completed);
    return undefined;
  }

  /** Runs a compensation until it succeeds (true) or its policy gives up (false). */
  async #compensate(drive: Drive, step: StepSpec): Promise<boolean> {
    const facts = drive.state.step(step.name);
    const compensate = step.compensate;
    if (compensate === undefined) return true;
    const policy = drive.spec.compensationRetry;
    let schedule: BackoffSchedule | undefined;
    for (;;) {
      drive.throwIfStopped();
      const attempt = facts.compensationAttempts + 1;
      await drive.append({ type: 'compensation_started', step: step.name, attempt });
      let failure: unknown;
      let ok = true;
      try {
        const fn = compensate as unknown as (context: StepContext) => unknown;
        const result = this.#invoke(drive, step, fn, CompensationContext, attempt);
        if (isPromiseLike(result)) await result;
      } catch (error: unknown) {
        ok = false;
        failure = error;
      }
      drive.throwIfStopped();
      if (ok) {
        drive.defer({ type: 'compensation_completed', step: step.name });
        return true;
      }
      drive.saw('compensation', step.name, failure);
      schedule ??= policy.backoff.start(this.#random);
      const delay = this.#retryDelay(policy, facts.compensationFailures + 1, failure, schedule);
      await drive.append(
        delay === undefined
          ? { type: 'compensation_failed', step: step.name, attempt, error: toErrorInfo(failure) }
          : { type: 'compensation_failed', step: step.name, attempt, error: toErrorInfo(failure), retryInMs: delay },
      );
      if (delay === undefined) return false;
      await this.#backoff(delay, drive);
    }
  }

  /** Waits out a retry delay (a pending `systemClock` sleep keeps the process alive: work is in progress). */
  #backoff(delay: number, drive: Drive): Promise<void> {
    return this.#clock.sleep(delay, drive.signal);
  }

  /**
   * The delay before another attempt, or `undefined` to give up. The loop around it is the spot where the
   * resilience block's `retry` policy could take over once it exists.
   */
  #retryDelay(policy: RetryPolicy, failures: number, error: unknown, schedule: BackoffSchedule): number | undefined {
    if (failures >= policy.maxAttempts) return undefined;
    if (policy.retryIf !== undefined) {
      let again = false;
      try {
        again = policy.retryIf(error) === true;
      } catch {
        again = false; // a predicate that throws cannot vouch for another attempt
      }
      if (!again) return undefined;
    }
    return Math.round(schedule.next());
  }

  /**
   * Calls a step function: returns its result (a value, or a promise the caller awaits) or throws what it
   * threw. Without a timeout the call is made as is (a step should honour its signal when the drive stops);
   * with one, each attempt gets its own signal, aborted with a {@link SagaStepTimeoutError}.
   */
  #invoke(
    drive: Drive,
    step: StepSpec,
    fn: (context: StepContext) => unknown,
    Context: ContextClass,
    attempt: number,
  ): unknown {
    if (step.timeoutMs === undefined) return fn(new Context(drive, step, attempt, undefined));
    return this.#invokeWithTimeout(drive, step, fn, Context, attempt, step.timeoutMs);
  }

  /** As `#invoke`, racing the attempt against its timeout. */
  async #invokeWithTimeout(
    drive: Drive,
    step: StepSpec,
    fn: (context: StepContext) => unknown,
    Context: ContextClass,
    attempt: number,
    timeoutMs: number,
  ): Promise<unknown> {
    const controller = new AbortController();
    const forward = (): void => controller.abort(drive.signal.reason);
    drive.signal.addEventListener('abort', forward, { once: true });
    const timer = new AbortController();
    let stopped: (reason: unknown) => void = () => undefined;
    const cut = new Promise<never>((_, reject) => {
      stopped = reject;
    });
    const onAbort = (): void => stopped(controller.signal.reason);
    controller.signal.addEventListener('abort', onAbort, { once: true });
    this.#clock.sleep(timeoutMs, timer.signal).then(
      () => controller.abort(new SagaStepTimeoutError(drive.state.sagaId, step.name, timeoutMs)),
      () => undefined,
    );
    try {
      return await Promise.race([this.#call(drive, fn, new Context(drive, step, attempt, controller.signal)), cut]);
    } finally {
      timer.abort();
      drive.signal.removeEventListener('abort', forward);
      controller.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Calls user code, counting it in flight until it settles (a timed-out call may outlive its attempt). */
  #call(drive: Drive, fn: (context: StepContext) => unknown, context: StepContext): Promise<unknown> {
    let promise: Promise<unknown>;
    try {
      promise = Promise.resolve(fn(context));
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    drive.inflight++;
    promise.then(drive.settle, drive.settle);
    return promise;
  }

  #emit(record: SagaEntry): void {
    this.#entry.emit(record);
    switch (record.type) {
      case 'saga_started':
        this.#sagaStarted.emit(record);
        return;
      case 'step_started':
        this.#stepStarted.emit(record);
        return;
      case 'step_completed':
        this.#stepCompleted.emit(record);
        return;
      case 'step_failed':
        this.#stepFailed.emit(record);
        return;
      case 'saga_compensating':
        this.#compensating.emit(record);
        return;
      case 'compensation_started':
        this.#compensationStarted.emit(record);
        return;
      case 'compensation_completed':
        this.#compensationCompleted.emit(record);
        return;
      case 'compensation_failed':
        this.#compensationFailed.emit(record);
        return;
      case 'saga_needs_intervention':
        this.#intervention.emit(record);
        return;
      case 'saga_completed':
        this.#completed.emit(record);
        return;
      case 'saga_compensated':
        this.#compensated.emit(record);
        return;
      default:
        return;
    }
  }

  #result(drive: Drive): SagaResult<SagaAnyOutputs> {
    const state = drive.state;
    const { sagaId, sagaName } = state;
    switch (state.status) {
      case 'completed':
        // Every step's output: what a step after the last group would see (frozen, built once).
        return Object.freeze({
          status: 'completed',
          sagaId,
          sagaName,
          outputs: drive.outputsBefore(drive.spec.groups.length),
        });
      case 'compensated': {
        const failure = state.failure ?? { step: '', error: toErrorInfo(undefined) };
        const error = drive.seen('forward', failure.step) ?? recorded(failure.step, failure.error);
        return Object.freeze({
          status: 'compensated',
          sagaId,
          sagaName,
          failedStep: failure.step,
          error,
          failure: failure.error,
        });
      }
      default: {
        const i = state.intervention ?? { phase: 'forward' as const, step: '', error: toErrorInfo(undefined) };
        const error = drive.seen(i.phase, i.step) ?? recorded(i.step, i.error);
        return Object.freeze({
          status: 'needs_intervention',
          sagaId,
          sagaName,
          phase: i.phase,
          step: i.step,
          error,
          failure: i.error,
        });
      }
    }
  }

  #startHeartbeat(): void {
    if (this.#beating) return;
    this.#beating = true;
    void this.#beat();
  }

  /**
   * Renews the lease of every saga being driven, every third of the lease. One loop per orchestrator; it
   * ends at the first wake-up with nothing to renew.
   */
  async #beat(): Promise<void> {
    const every = this.#leaseMs / 3;
    try {
      do {
        await this.#heartbeatSleep(every);
        for (const [sagaId, drive] of [...this.#active]) {
          if (this.#active.get(sagaId) !== drive) continue;
          try {
            const claim = await this.#log.claim(sagaId, this.owner, this.#leaseMs);
            if (!claim.acquired) drive.stop(new SagaLeaseError(sagaId, this.owner, claim.owner));
            else if (this.#active.get(sagaId) !== drive) await this.#log.release(sagaId, this.owner);
          } catch (error: unknown) {
            drive.stop(error);
          }
        }
      } while (this.#active.size > 0);
    } finally {
      this.#beating = false;
    }
  }

  /**
   * The heartbeat's wait. On the system clock it does not keep the process alive: the sagas it looks after
   * do (their steps, writes and retry sleeps are pending work), and a process with nothing left to drive
   * must be free to exit rather than wait out a third of a lease.
   */
  #heartbeatSleep(ms: number): Promise<void> {
    if (this.#clock !== systemClock) return this.#clock.sleep(ms);
    return new Promise<void>((resolve) => {
      setTimeout(resolve, ms).unref();
    });
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True for a promise or any other thenable: what a step function returns when it is asynchronous. */
function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  if (value instanceof Promise) return true;
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  return typeof (value as { readonly then?: unknown }).then === 'function';
}

/** A step that has neither completed, been skipped, nor given up. */
function isPending(state: SagaState, step: StepSpec): boolean {
  const f = state.step(step.name);
  return !f.completed && !f.skipped && !f.gaveUp;
}

function recorded(step: string, info: SagaErrorInfo): SagaRecordedError {
  return new SagaRecordedError(step, info.name, info.message, info.code);
}
