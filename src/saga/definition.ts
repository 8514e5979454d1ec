/**
 * Saga definitions: the typed builder (`defineSaga`), the step definitions and contexts, and the built
 * {@link Saga}.
 */
import { Backoff, type BackoffOptions } from '../core/index.js';
import {
  assertFunction,
  assertNonEmptyString,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from '../core/validation.js';

/** What a step's `run` receives. */
export interface SagaStepContext<Input, Outputs> {
  /** The saga instance. */
  readonly sagaId: string;
  /** The definition name. */
  readonly sagaName: string;
  /** This step's name. */
  readonly step: string;
  /** The saga's input (as recorded: a JSON copy). */
  readonly input: Input;
  /** Outputs of the steps that ran before this one (not of parallel siblings), by step name. */
  readonly outputs: Outputs;
  /**
   * `${sagaId}:${step}`: the same for every attempt and every recovery. Pass it to the service you call so
   * that a repeated call does not repeat the effect.
   */
  readonly idempotencyKey: string;
  /** The attempt number, counted across retries and recoveries: 1 for the first. */
  readonly attempt: number;
  /** Aborted on timeout, on shutdown (`run`'s signal) and when the orchestrator loses the saga's lease. */
  readonly signal: AbortSignal;
}

/**
 * What a step's `compensate` receives: the step's context plus what is known of its outcome. `completed` is
 * false when the step failed, timed out or was cut short by a crash: its effect may or may not have
 * happened, so the compensation must look it up by `idempotencyKey` and do nothing when there is none.
 */
export type SagaCompensationContext<Input, Outputs, Output> = SagaStepContext<Input, Outputs> &
  (
    | {
        /** The step completed and returned `output`. */
        readonly completed: true;
        /** The step's output. */
        readonly output: Output;
      }
    | {
        /** The step did not complete: its effect is unknown. */
        readonly completed: false;
        /** No output. */
        readonly output: undefined;
      }
  );

/** When and how often a step (or a compensation) is attempted again after a failure. */
export interface SagaRetryOptions {
  /**
   * Attempts in total, the first included: a positive integer, or `Infinity` to retry until it succeeds.
   * @defaultValue 1 before and at the pivot, 10 after it and for compensations
   */
  readonly maxAttempts?: number;
  /** Delays between attempts, on the orchestrator's clock. @defaultValue `{ initial: 100, max: 10_000, jitter: 'full' }` */
  readonly backoff?: BackoffOptions;
  /** Whether an error deserves another attempt (a declined card does not). @defaultValue every error */
  readonly retryIf?: (error: unknown) => boolean;
}

/** A step before the pivot: it must say how to undo itself. */
export interface SagaCompensatableStep<Input, Outputs, Output> {
  /** Does the work; its return value (JSON) becomes `outputs[name]` for later steps. */
  readonly run: (context: SagaStepContext<Input, Outputs>) => Output | PromiseLike<Output>;
  /** Undoes the work; must be idempotent and a no-op when the effect did not happen. */
  readonly compensate: (context: SagaCompensationContext<Input, Outputs, Output>) => unknown;
  /** Retries of `run`. @defaultValue `{ maxAttempts: 1 }` */
  readonly retry?: SagaRetryOptions;
  /**
   * Limit of one attempt of `run` or `compensate`, in ms; the attempt's signal is aborted with a
   * {@link SagaStepTimeoutError} and the attempt counts as failed. @defaultValue no limit
   */
  readonly timeout?: number;
}

/** The pivot, or a step after it: it has no compensation and is only ever retried forward. */
export interface SagaForwardStep<Input, Outputs, Output> {
  /** Does the work; its return value (JSON) becomes `outputs[name]` for later steps. */
  readonly run: (context: SagaStepContext<Input, Outputs>) => Output | PromiseLike<Output>;
  /** Not allowed: past the pivot the saga only goes forward. */
  readonly compensate?: never;
  /** Retries of `run`. @defaultValue `{ maxAttempts: 1 }` for the pivot, `{ maxAttempts: 10 }` after it */
  readonly retry?: SagaRetryOptions;
  /** Limit of one attempt, in ms; the step's signal is aborted when it passes. @defaultValue no limit */
  readonly timeout?: number;
}

/** The role of a step: undone on failure, the point of no return, or retried forward. */
export type SagaStepKind = 'compensatable' | 'pivot' | 'retriable';

/** What a built saga says about one of its steps. */
export interface SagaStepInfo {
  /** Step name, unique in the saga. */
  readonly name: string;
  /** Its role. */
  readonly kind: SagaStepKind;
  /** Index of its group: steps of one `parallel` group share it. */
  readonly group: number;
}

/** The outputs of a saga with no step yet. */
export type NoSagaOutputs = Record<never, never>;

/** `Outputs` with `Name: Output` added (the output awaited). */
export type WithSagaOutput<Outputs, Name extends string, Output> = {
  readonly [K in keyof Outputs | Name]: K extends Name ? Awaited<Output> : K extends keyof Outputs ? Outputs[K] : never;
};

/** The outputs of the steps before a parallel group and of the group's steps, in one object type. */
export type MergedSagaOutputs<Outputs, GroupOutputs> = {
  readonly [K in keyof Outputs | keyof GroupOutputs]: K extends keyof GroupOutputs
    ? GroupOutputs[K]
    : K extends keyof Outputs
      ? Outputs[K]
      : never;
};

/**
 * `unknown` when `Name` is not used yet by a step of the saga, `never` otherwise: a step name parameter
 * typed `Name & SagaStepNameCheck<Name, Outputs>` turns a duplicate name into a type error.
 */
export type SagaStepNameCheck<Name extends string, Outputs> = Name extends keyof Outputs ? never : unknown;

/** Collects the steps of a `parallel` group before the pivot; each sees the outputs from before the group. */
export interface SagaParallelGroup<Input, Outputs, GroupOutputs> {
  /** Adds a compensatable step to the group. */
  step<const Name extends string, Output>(
    name: Name & SagaStepNameCheck<Name, Outputs & GroupOutputs>,
    definition: SagaCompensatableStep<Input, Outputs, Output>,
  ): SagaParallelGroup<Input, Outputs, WithSagaOutput<GroupOutputs, Name, Output>>;
}

/** Collects the steps of a `parallel` group after the pivot. */
export interface SagaForwardParallelGroup<Input, Outputs, GroupOutputs> {
  /** Adds a retriable step to the group. */
  step<const Name extends string, Output>(
    name: Name & SagaStepNameCheck<Name, Outputs & GroupOutputs>,
    definition: SagaForwardStep<Input, Outputs, Output>,
  ): SagaForwardParallelGroup<Input, Outputs, WithSagaOutput<GroupOutputs, Name, Output>>;
}

/** Builds a saga's steps before the pivot. Immutable: each call returns a new builder. */
export interface SagaBuilder<Input, Outputs> {
  /**
   * Adds a compensatable step. Its `run` sees the outputs of earlier steps by name; `compensate` is required.
   *
   * @throws {@link ValidationError} for a duplicate or malformed name or a missing `compensate`.
   */
  step<const Name extends string, Output>(
    name: Name & SagaStepNameCheck<Name, Outputs>,
    definition: SagaCompensatableStep<Input, Outputs, Output>,
  ): SagaBuilder<Input, WithSagaOutput<Outputs, Name, Output>>;
  /**
   * Adds steps that run concurrently; the saga waits for all of them. If one fails, the group's other steps
   * settle first, then everything started is compensated.
   *
   * @throws {@link ValidationError} for an empty group or a bad step.
   */
  parallel<GroupOutputs>(
    group: (group: SagaParallelGroup<Input, Outputs, NoSagaOutputs>) => SagaParallelGroup<Input, Outputs, GroupOutputs>,
  ): SagaBuilder<Input, MergedSagaOutputs<Outputs, GroupOutputs>>;
  /**
   * Adds the pivot: the go/no-go step. A failure up to and including it compensates; once it succeeds the
   * saga only goes forward.
   *
   * @throws {@link ValidationError} for a duplicate or malformed name, or a `compensate`.
   */
  pivot<const Name extends string, Output>(
    name: Name & SagaStepNameCheck<Name, Outputs>,
    definition: SagaForwardStep<Input, Outputs, Output>,
  ): SagaForwardBuilder<Input, WithSagaOutput<Outputs, Name, Output>>;
  /**
   * The saga.
   *
   * @throws {@link ValidationError} when it has no step.
   */
  build(): Saga<Input, Outputs>;
}

/** Builds a saga's steps after the pivot: retriable steps without compensation. */
export interface SagaForwardBuilder<Input, Outputs> {
  /**
   * Adds a retriable step, attempted until it succeeds or its retry policy gives up (then the saga needs
   * intervention).
   *
   * @throws {@link ValidationError} for a duplicate or malformed name, or a `compensate`.
   */
  step<const Name extends string, Output>(
    name: Name & SagaStepNameCheck<Name, Outputs>,
    definition: SagaForwardStep<Input, Outputs, Output>,
  ): SagaForwardBuilder<Input, WithSagaOutput<Outputs, Name, Output>>;
  /**
   * Adds retriable steps that run concurrently.
   *
   * @throws {@link ValidationError} for an empty group or a bad step.
   */
  parallel<GroupOutputs>(
    group: (
      group: SagaForwardParallelGroup<Input, Outputs, NoSagaOutputs>,
    ) => SagaForwardParallelGroup<Input, Outputs, GroupOutputs>,
  ): SagaForwardBuilder<Input, MergedSagaOutputs<Outputs, GroupOutputs>>;
  /** The saga. */
  build(): Saga<Input, Outputs>;
}

/** Options of {@link defineSaga}. */
export interface DefineSagaOptions {
  /** Retries of every compensation of this saga. @defaultValue `{ maxAttempts: 10 }` with the default backoff */
  readonly compensationRetry?: SagaRetryOptions;
}

/** Context handed to a step function inside the block. */
export type AnyStepContext = SagaStepContext<unknown, Readonly<Record<string, unknown>>>;
/** Context handed to a compensation inside the block. */
export type AnyCompensationContext = SagaCompensationContext<unknown, Readonly<Record<string, unknown>>, unknown>;

/** A validated retry policy. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly retryIf: ((error: unknown) => boolean) | undefined;
}

/** A validated step. */
export interface StepSpec {
  readonly name: string;
  readonly kind: SagaStepKind;
  readonly group: number;
  readonly index: number;
  readonly run: (context: AnyStepContext) => unknown;
  readonly compensate: ((context: AnyCompensationContext) => unknown) | undefined;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number | undefined;
}

/** A validated saga: what the orchestrator executes. */
export interface SagaSpec {
  readonly name: string;
  readonly steps: readonly StepSpec[];
  readonly groups: readonly (readonly StepSpec[])[];
  readonly byName: ReadonlyMap<string, StepSpec>;
  readonly stepNames: readonly string[];
  readonly compensationRetry: RetryPolicy;
}

const STEP_NAME = /^[A-Za-z0-9_.-]+$/;
const DEFAULT_BACKOFF: BackoffOptions = { initial: 100, max: 10_000, jitter: 'full' };

/** Validates retry options into a policy. */
export function retryPolicy(
  options: SagaRetryOptions | undefined,
  defaultAttempts: number,
  argument: string,
): RetryPolicy {
  const o = optionsObject(options, argument);
  const maxAttempts = o.maxAttempts ?? defaultAttempts;
  if (maxAttempts !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1)) {
    invalid(`${argument}.maxAttempts`, 'a positive integer or Infinity', maxAttempts);
  }
  const backoff = new Backoff(o.backoff ?? DEFAULT_BACKOFF, `${argument}.backoff`);
  if (o.retryIf !== undefined) assertFunction(o.retryIf, `${argument}.retryIf`);
  return { maxAttempts, backoff, retryIf: o.retryIf };
}

let specOf: (saga: Saga<unknown, unknown>) => SagaSpec;

/**
 * A built saga definition: its name and steps. Run it with a `SagaOrchestrator`; the type parameters carry
 * the input type and the outputs of every step by name.
 */
export class Saga<Input, Outputs> {
  /** The definition name, recorded with every instance. */
  readonly name: string;
  /** The steps in order, with their role and group. */
  readonly steps: readonly SagaStepInfo[];
  readonly #spec: SagaSpec;
  readonly #types: ((input: Input) => Outputs) | undefined;

  static {
    specOf = (saga) => saga.#spec;
  }

  /** @internal Built by {@link defineSaga}. */
  constructor(spec: SagaSpec) {
    this.name = spec.name;
    this.steps = Object.freeze(spec.steps.map((s) => Object.freeze({ name: s.name, kind: s.kind, group: s.group })));
    this.#spec = spec;
    this.#types = undefined;
    void this.#types;
  }

  /** True when `value` is a saga built by {@link defineSaga} (from this copy of the package). */
  static isSaga(value: unknown): value is Saga<unknown, unknown> {
    return typeof value === 'object' && value !== null && #spec in value;
  }
}

/** The validated spec behind a saga. */
export function sagaSpec(saga: Saga<unknown, unknown>): SagaSpec {
  return specOf(saga);
}

/** The input type of a saga. */
export type SagaInputOf<S> = S extends Saga<infer Input, unknown> ? Input : never;
/** The outputs type of a saga, by step name. */
export type SagaOutputsOf<S> = S extends Saga<never, infer Outputs> ? Outputs : never;

type Phase = 'before' | 'after';

interface DraftStep {
  readonly name: string;
  readonly kind: SagaStepKind;
  readonly definition: unknown;
}

class Draft {
  constructor(
    readonly name: string,
    readonly groups: readonly (readonly DraftStep[])[],
    readonly phase: Phase,
    readonly options: DefineSagaOptions,
  ) {}

  names(): Set<string> {
    return new Set(this.groups.flatMap((g) => g.map((s) => s.name)));
  }

  with(group: readonly DraftStep[], phase: Phase): Draft {
    return new Draft(this.name, [...this.groups, group], phase, this.options);
  }
}

function checkStep(
  draft: Draft,
  taken: Set<string>,
  name: unknown,
  definition: unknown,
  kind: SagaStepKind,
): DraftStep {
  if (typeof name !== 'string' || !STEP_NAME.test(name) || name === '__proto__') {
    invalid('name', 'a step name of letters, digits, "_", "-" or "." (not "__proto__")', name);
  }
  if (taken.has(name)) invalid('name', `a step name not yet used in saga "${draft.name}"`, name);
  const argument = `steps.${name}`;
  if (typeof definition !== 'object' || definition === null) invalid(argument, 'a step definition object', definition);
  const d = definition as Record<string, unknown>;
  assertFunction(d.run, `${argument}.run`);
  if (kind === 'compensatable') {
    if (d.compensate === undefined) {
      invalid(`${argument}.compensate`, 'a compensation: a step before the pivot must be undoable', d.compensate);
    }
    assertFunction(d.compensate, `${argument}.compensate`);
  } else if (d.compensate !== undefined) {
    invalid(
      `${argument}.compensate`,
      kind === 'pivot' ? 'no compensation on the pivot' : 'no compensation on a step after the pivot',
      d.compensate,
    );
  }
  retryPolicy(d.retry as SagaRetryOptions | undefined, 1, `${argument}.retry`);
  if (d.timeout !== undefined) assertPositiveNumber(d.timeout, `${argument}.timeout`);
  taken.add(name);
  return { name, kind, definition };
}

class GroupImpl {
  readonly steps: DraftStep[] = [];
  constructor(
    readonly draft: Draft,
    readonly taken: Set<string>,
    readonly kind: SagaStepKind,
  ) {}

  step(name: unknown, definition: unknown): this {
    this.steps.push(checkStep(this.draft, this.taken, name, definition, this.kind));
    return this;
  }
}

class BuilderImpl {
  readonly #draft: Draft;

  constructor(draft: Draft) {
    this.#draft = draft;
  }

  step(name: unknown, definition: unknown): BuilderImpl {
    const kind: SagaStepKind = this.#draft.phase === 'before' ? 'compensatable' : 'retriable';
    const step = checkStep(this.#draft, this.#draft.names(), name, definition, kind);
    return new BuilderImpl(this.#draft.with([step], this.#draft.phase));
  }

  parallel(callback: unknown): BuilderImpl {
    assertFunction(callback, 'group');
    const kind: SagaStepKind = this.#draft.phase === 'before' ? 'compensatable' : 'retriable';
    const group = new GroupImpl(this.#draft, this.#draft.names(), kind);
    const returned: unknown = (callback as (g: GroupImpl) => unknown)(group);
    if (returned !== group) invalid('group', 'a callback returning the group it was given', returned);
    if (group.steps.length === 0) invalid('group', 'a parallel group with at least one step', group.steps.length);
    return new BuilderImpl(this.#draft.with([...group.steps], this.#draft.phase));
  }

  pivot(name: unknown, definition: unknown): BuilderImpl {
    if (this.#draft.phase !== 'before') invalid('pivot', 'a single pivot per saga', name);
    const step = checkStep(this.#draft, this.#draft.names(), name, definition, 'pivot');
    return new BuilderImpl(this.#draft.with([step], 'after'));
  }

  build(): Saga<unknown, unknown> {
    const draft = this.#draft;
    if (draft.groups.length === 0) invalid('steps', `at least one step in saga "${draft.name}"`, 0);
    const steps: StepSpec[] = [];
    const groups: StepSpec[][] = [];
    draft.groups.forEach((group, g) => {
      const built: StepSpec[] = [];
      for (const s of group) {
        const d = s.definition as {
          run: StepSpec['run'];
          compensate?: StepSpec['compensate'];
          retry?: SagaRetryOptions;
          timeout?: number;
        };
        const spec: StepSpec = Object.freeze({
          name: s.name,
          kind: s.kind,
          group: g,
          index: steps.length,
          run: d.run,
          compensate: d.compensate,
          retry: retryPolicy(d.retry, s.kind === 'retriable' ? 10 : 1, `steps.${s.name}.retry`),
          timeoutMs: d.timeout,
        });
        steps.push(spec);
        built.push(spec);
      }
      groups.push(built);
    });
    const spec: SagaSpec = Object.freeze({
      name: draft.name,
      steps,
      groups,
      byName: new Map(steps.map((s) => [s.name, s])),
      stepNames: Object.freeze(steps.map((s) => s.name)),
      compensationRetry: retryPolicy(draft.options.compensationRetry, 10, 'options.compensationRetry'),
    });
    return new Saga(spec);
  }
}

/**
 * Starts a saga definition. Chain compensatable `.step`s (and `.parallel` groups), an optional `.pivot`,
 * retriable steps after it, then `.build()`. Each step's `run` sees the input and the typed outputs of the
 * steps before it; a step before the pivot without `compensate`, or one after it with one, does not compile.
 *
 * @typeParam Input - The saga's input; must be JSON (it is recorded for recovery).
 * @param name - The definition name, recorded with each instance so `recover()` can find the definition.
 * @param options - Saga-wide settings (compensation retries).
 * @throws {@link ValidationError} for a bad name or options.
 * @example
 * ```ts
 * import { defineSaga } from 'system-design-blocks/saga';
 *
 * declare const stock: { reserve(key: string, sku: string): Promise<{ reservationId: string }>; release(key: string): Promise<void> };
 * declare const payments: { charge(key: string, cents: number): Promise<{ chargeId: string }>; refund(key: string): Promise<void> };
 * declare const orders: { confirm(key: string, chargeId: string): Promise<void> };
 *
 * const checkout = defineSaga<{ sku: string; cents: number }>('checkout')
 *   .step('reserve', {
 *     run: ({ input, idempotencyKey }) => stock.reserve(idempotencyKey, input.sku),
 *     compensate: ({ idempotencyKey }) => stock.release(idempotencyKey),
 *   })
 *   .step('charge', {
 *     run: ({ input, idempotencyKey }) => payments.charge(idempotencyKey, input.cents),
 *     compensate: ({ idempotencyKey }) => payments.refund(idempotencyKey),
 *   })
 *   .pivot('confirm', {
 *     run: ({ outputs, idempotencyKey }) => orders.confirm(idempotencyKey, outputs.charge.chargeId),
 *   })
 *   .build();
 * console.log(checkout.steps.map((s) => `${s.name}:${s.kind}`).join(' ')); // reserve:compensatable charge:compensatable confirm:pivot
 * ```
 */
export function defineSaga<Input = void>(name: string, options?: DefineSagaOptions): SagaBuilder<Input, NoSagaOutputs> {
  assertNonEmptyString(name, 'name');
  const o = optionsObject(options, 'options');
  retryPolicy(o.compensationRetry, 10, 'options.compensationRetry');
  return new BuilderImpl(new Draft(name, [], 'before', o)) as unknown as SagaBuilder<Input, NoSagaOutputs>;
}
