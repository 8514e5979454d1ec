/**
 * A saga's state, rebuilt from its records. The orchestrator applies each record it writes to the same
 * reducer it uses to replay a log on recovery, so a live run and a recovered one cannot disagree.
 */
import type { JsonValue } from '../core/index.js';
import { SAGA_GENESIS_HASH, type SagaEntry, type SagaErrorInfo, type SagaPhase, type SagaRecord } from './records.js';

/** Where a saga is: running forward, compensating, waiting for an operator, or finished. */
export type SagaStatus = 'running' | 'compensating' | 'completed' | 'compensated' | 'needs_intervention';

/** Where one step is, as the log tells it. */
export type SagaStepState =
  | 'pending'
  | 'started'
  | 'completed'
  | 'failed'
  | 'skipped'
  | 'compensating'
  | 'compensated'
  | 'compensation_skipped';

/** One step of a {@link SagaSnapshot}. */
export interface SagaStepSnapshot {
  /** The step. */
  readonly name: string;
  /** Where it is. */
  readonly state: SagaStepState;
  /** Attempts of `run` started so far. */
  readonly attempts: number;
  /** Attempts of `compensate` started so far. */
  readonly compensationAttempts: number;
  /** Its last failure (of `run`, or of `compensate` while compensating), if any. */
  readonly error?: SagaErrorInfo;
}

/** What every {@link SagaSnapshot} says. */
export interface SagaSnapshotBase {
  /** The saga instance. */
  readonly sagaId: string;
  /** The definition name. */
  readonly sagaName: string;
  /** Number of records. */
  readonly version: number;
  /** Hash of the last record. */
  readonly head: string;
  /** Time of the last record (ms since the epoch). */
  readonly updatedAt: number;
  /** The recorded input. */
  readonly input: JsonValue | undefined;
  /** Outputs of completed (and operator-skipped) steps, by name. */
  readonly outputs: Readonly<Record<string, JsonValue | undefined>>;
  /** Every step of the definition, in order. */
  readonly steps: readonly SagaStepSnapshot[];
}

/** A saga's state read from the log, discriminated by `status`. */
export type SagaSnapshot =
  | (SagaSnapshotBase & {
      /** Going forward. */
      readonly status: 'running';
    })
  | (SagaSnapshotBase & {
      /** Undoing the steps started before the failure. */
      readonly status: 'compensating';
      /** The step whose failure turned the saga back. */
      readonly failedStep: string;
      /** Its failure. */
      readonly failure: SagaErrorInfo;
    })
  | (SagaSnapshotBase & {
      /** Every step succeeded. */
      readonly status: 'completed';
    })
  | (SagaSnapshotBase & {
      /** Every started step before the pivot was undone. */
      readonly status: 'compensated';
      /** The step whose failure turned the saga back. */
      readonly failedStep: string;
      /** Its failure. */
      readonly failure: SagaErrorInfo;
    })
  | (SagaSnapshotBase & {
      /** Stopped for an operator: `resume` or `skip`. */
      readonly status: 'needs_intervention';
      /** Which way it was going. */
      readonly phase: SagaPhase;
      /** The step (or compensation) that gave up. */
      readonly step: string;
      /** Its last failure. */
      readonly failure: SagaErrorInfo;
    });

/** Mutable per-step facts. */
export interface StepFacts {
  attempts: number;
  /** Failures since the saga started or was last resumed: the retry budget used. */
  failures: number;
  started: boolean;
  completed: boolean;
  skipped: boolean;
  /** Failed and gave up (until a resume). */
  gaveUp: boolean;
  /** Seq of the latest forward record: orders compensations (latest first). */
  order: number;
  error: SagaErrorInfo | undefined;
  compensationAttempts: number;
  compensationFailures: number;
  compensationStarted: boolean;
  compensated: boolean;
  compensationSkipped: boolean;
  compensationError: SagaErrorInfo | undefined;
}

function facts(): StepFacts {
  return {
    attempts: 0,
    failures: 0,
    started: false,
    completed: false,
    skipped: false,
    gaveUp: false,
    order: -1,
    error: undefined,
    compensationAttempts: 0,
    compensationFailures: 0,
    compensationStarted: false,
    compensated: false,
    compensationSkipped: false,
    compensationError: undefined,
  };
}

/** The reducer: feed it records in order. */
export class SagaState {
  readonly sagaId: string;
  sagaName = '';
  stepNames: readonly string[] = [];
  input: JsonValue | undefined;
  status: SagaStatus = 'running';
  version = 0;
  head: string = SAGA_GENESIS_HASH;
  updatedAt = 0;
  readonly outputs: Record<string, JsonValue | undefined> = {};
  /** Facts by step name (an object without prototype: a handful of names, looked up on every record). */
  readonly #steps: Record<string, StepFacts> = Object.create(null) as Record<string, StepFacts>;
  failure: { readonly step: string; readonly error: SagaErrorInfo } | undefined;
  intervention: { readonly phase: SagaPhase; readonly step: string; readonly error: SagaErrorInfo } | undefined;

  constructor(sagaId: string) {
    this.sagaId = sagaId;
  }

  /** Facts of a step (created on first use). */
  step(name: string): StepFacts {
    let f = this.#steps[name];
    if (f === undefined) {
      f = facts();
      this.#steps[name] = f;
    }
    return f;
  }

  /** Applies one entry or record; they must come in order (the chain is verified elsewhere). */
  apply(record: SagaEntry | SagaRecord): void {
    this.version = record.seq + 1;
    const hash = (record as { readonly hash?: string }).hash;
    if (hash !== undefined) this.head = hash;
    this.updatedAt = record.at;
    switch (record.type) {
      case 'saga_started':
        this.sagaName = record.saga;
        this.stepNames = record.steps;
        this.input = record.input;
        this.status = 'running';
        for (let i = 0; i < record.steps.length; i++) this.step(record.steps[i] as string);
        return;
      case 'step_started': {
        const f = this.step(record.step);
        f.started = true;
        f.attempts = Math.max(f.attempts, record.attempt);
        f.order = record.seq;
        return;
      }
      case 'step_completed': {
        const f = this.step(record.step);
        f.completed = true;
        f.gaveUp = false;
        f.order = record.seq;
        this.outputs[record.step] = record.output;
        return;
      }
      case 'step_failed': {
        const f = this.step(record.step);
        f.failures++;
        f.error = record.error;
        f.gaveUp = record.retryInMs === undefined;
        f.order = record.seq;
        return;
      }
      case 'step_skipped': {
        const f = this.step(record.step);
        f.skipped = true;
        f.gaveUp = false;
        this.outputs[record.step] = record.output;
        return;
      }
      case 'saga_compensating':
        this.status = 'compensating';
        this.failure = { step: record.step, error: record.error };
        return;
      case 'compensation_started': {
        const f = this.step(record.step);
        f.compensationStarted = true;
        f.compensationAttempts = Math.max(f.compensationAttempts, record.attempt);
        return;
      }
      case 'compensation_completed':
        this.step(record.step).compensated = true;
        return;
      case 'compensation_failed': {
        const f = this.step(record.step);
        f.compensationFailures++;
        f.compensationError = record.error;
        return;
      }
      case 'compensation_skipped':
        this.step(record.step).compensationSkipped = true;
        return;
      case 'saga_needs_intervention':
        this.status = 'needs_intervention';
        this.intervention = { phase: record.phase, step: record.step, error: record.error };
        return;
      case 'saga_resumed': {
        this.status = this.intervention?.phase === 'compensation' ? 'compensating' : 'running';
        this.intervention = undefined;
        // A resume gives every step a fresh retry budget.
        for (const name in this.#steps) {
          const f = this.#steps[name] as StepFacts;
          f.failures = 0;
          f.compensationFailures = 0;
          if (!f.completed && !f.skipped) f.gaveUp = false;
        }
        return;
      }
      case 'saga_completed':
        this.status = 'completed';
        return;
      case 'saga_compensated':
        this.status = 'compensated';
        this.failure = { step: record.step, error: record.error };
        return;
    }
  }

  /** A serialisable view of the state. */
  snapshot(): SagaSnapshot {
    const steps = this.stepNames.map((name): SagaStepSnapshot => {
      const f = this.step(name);
      let state: SagaStepState = 'pending';
      if (f.compensationSkipped) state = 'compensation_skipped';
      else if (f.compensated) state = 'compensated';
      else if (f.compensationStarted) state = 'compensating';
      else if (f.skipped) state = 'skipped';
      else if (f.completed) state = 'completed';
      else if (f.gaveUp) state = 'failed';
      else if (f.started) state = 'started';
      const error = f.compensationStarted ? (f.compensationError ?? f.error) : f.error;
      return Object.freeze({
        name,
        state,
        attempts: f.attempts,
        compensationAttempts: f.compensationAttempts,
        ...(error === undefined ? {} : { error }),
      });
    });
    const base: SagaSnapshotBase = {
      sagaId: this.sagaId,
      sagaName: this.sagaName,
      version: this.version,
      head: this.head,
      updatedAt: this.updatedAt,
      input: this.input,
      outputs: Object.freeze({ ...this.outputs }),
      steps: Object.freeze(steps),
    };
    switch (this.status) {
      case 'compensating':
      case 'compensated': {
        const failure = this.failure ?? { step: '', error: { name: 'Unknown', message: 'no failure recorded' } };
        return Object.freeze({ ...base, status: this.status, failedStep: failure.step, failure: failure.error });
      }
      case 'needs_intervention': {
        const i = this.intervention ?? {
          phase: 'forward' as const,
          step: '',
          error: { name: 'Unknown', message: 'no failure recorded' },
        };
        return Object.freeze({ ...base, status: this.status, phase: i.phase, step: i.step, failure: i.error });
      }
      default:
        return Object.freeze({ ...base, status: this.status });
    }
  }
}
