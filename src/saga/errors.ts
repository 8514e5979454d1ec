/**
 * The saga block's errors. Each has a stable `code`, the context a caller needs (`sagaId`, `step`, …) and a
 * guard that works across copies of the package.
 */
import { errorGuard, SystemDesignError, type SystemDesignErrorOptions } from '../core/index.js';

/**
 * A step attempt ran longer than its `timeout` (`E_SAGA_STEP_TIMEOUT`). The step's signal is aborted with
 * this error; the attempt counts as failed (and is retried when its policy allows).
 */
export class SagaStepTimeoutError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_STEP_TIMEOUT';
  /** The saga instance. */
  readonly sagaId: string;
  /** The step that timed out. */
  readonly step: string;
  /** The limit that was exceeded, in ms. */
  readonly timeoutMs: number;

  /**
   * @param sagaId - The saga instance.
   * @param step - The step that timed out.
   * @param timeoutMs - The limit, in ms.
   */
  constructor(sagaId: string, step: string, timeoutMs: number) {
    super(SagaStepTimeoutError.code, `saga ${sagaId}: step "${step}" did not settle within ${timeoutMs} ms`);
    this.sagaId = sagaId;
    this.step = step;
    this.timeoutMs = timeoutMs;
  }
}

/** True when `error` is a {@link SagaStepTimeoutError} from any copy of the package. */
export const isSagaStepTimeoutError: (error: unknown) => error is SagaStepTimeoutError =
  errorGuard<SagaStepTimeoutError>(SagaStepTimeoutError.code);

/**
 * A step returned a value JSON cannot carry faithfully (`E_SAGA_OUTPUT_NOT_JSON`): a `Date`, a `Map`, a
 * function, a cycle, `NaN`… The log is untouched; the step counts as failed (not retried) and its
 * compensation runs with `completed: false`. The `cause` is the {@link ValidationError} naming the path.
 */
export class SagaOutputNotSerializableError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_OUTPUT_NOT_JSON';
  /** The saga instance. */
  readonly sagaId: string;
  /** The step whose output was rejected. */
  readonly step: string;

  /**
   * @param sagaId - The saga instance.
   * @param step - The step whose output was rejected.
   * @param options - `cause`: the validation error naming the offending path.
   */
  constructor(sagaId: string, step: string, options?: SystemDesignErrorOptions) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      SagaOutputNotSerializableError.code,
      `saga ${sagaId}: the output of step "${step}" is not JSON-serialisable${detail}`,
      options,
    );
    this.sagaId = sagaId;
    this.step = step;
  }
}

/** True when `error` is a {@link SagaOutputNotSerializableError} from any copy of the package. */
export const isSagaOutputNotSerializableError: (error: unknown) => error is SagaOutputNotSerializableError =
  errorGuard<SagaOutputNotSerializableError>(SagaOutputNotSerializableError.code);

/**
 * An append lost an optimistic-concurrency race (`E_SAGA_LOG_CONFLICT`): the record's `seq` was not the
 * saga's current version, because someone else appended first. Nothing was written.
 */
export class SagaLogConflictError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_LOG_CONFLICT';
  /** The saga instance. */
  readonly sagaId: string;
  /** The version the appender expected (the record's `seq`). */
  readonly expectedVersion: number;
  /** The version the log holds. */
  readonly actualVersion: number;

  /**
   * @param sagaId - The saga instance.
   * @param expectedVersion - The record's `seq`.
   * @param actualVersion - The saga's version in the log.
   */
  constructor(sagaId: string, expectedVersion: number, actualVersion: number) {
    super(
      SagaLogConflictError.code,
      `saga ${sagaId}: append expected version ${expectedVersion} but the log is at ${actualVersion}`,
    );
    this.sagaId = sagaId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** True when `error` is a {@link SagaLogConflictError} from any copy of the package. */
export const isSagaLogConflictError: (error: unknown) => error is SagaLogConflictError =
  errorGuard<SagaLogConflictError>(SagaLogConflictError.code);

/**
 * `run` was given a `sagaId` the log already holds (`E_SAGA_EXISTS`). Nothing was run or written: inspect
 * it with `status`, drive it with `resume`.
 */
export class SagaAlreadyExistsError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_EXISTS';
  /** The id already in use. */
  readonly sagaId: string;

  /** @param sagaId - The id already in use. */
  constructor(sagaId: string) {
    super(SagaAlreadyExistsError.code, `saga ${sagaId} already exists in the log`);
    this.sagaId = sagaId;
  }
}

/** True when `error` is a {@link SagaAlreadyExistsError} from any copy of the package. */
export const isSagaAlreadyExistsError: (error: unknown) => error is SagaAlreadyExistsError =
  errorGuard<SagaAlreadyExistsError>(SagaAlreadyExistsError.code);

/** No saga with this id is in the log (`E_SAGA_NOT_FOUND`). */
export class SagaNotFoundError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_NOT_FOUND';
  /** The id asked for. */
  readonly sagaId: string;

  /** @param sagaId - The id asked for. */
  constructor(sagaId: string) {
    super(SagaNotFoundError.code, `saga ${sagaId} is not in the log`);
    this.sagaId = sagaId;
  }
}

/** True when `error` is a {@link SagaNotFoundError} from any copy of the package. */
export const isSagaNotFoundError: (error: unknown) => error is SagaNotFoundError = errorGuard<SagaNotFoundError>(
  SagaNotFoundError.code,
);

/**
 * The log holds sagas whose definition this orchestrator does not know (`E_SAGA_NOT_REGISTERED`): pass it
 * in `sagas` (or `run` it once). Raised before anything is driven or written.
 */
export class SagaNotRegisteredError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_NOT_REGISTERED';
  /** The unknown definition names. */
  readonly sagaNames: readonly string[];
  /** The saga instances that need them. */
  readonly sagaIds: readonly string[];

  /**
   * @param sagaNames - The unknown definition names.
   * @param sagaIds - The instances that need them.
   */
  constructor(sagaNames: readonly string[], sagaIds: readonly string[]) {
    const shown = sagaIds.slice(0, 5).join(', ') + (sagaIds.length > 5 ? ', …' : '');
    super(
      SagaNotRegisteredError.code,
      `no saga definition registered for ${sagaNames.map((n) => JSON.stringify(n)).join(', ')} ` +
        `(needed by ${sagaIds.length} saga(s): ${shown}); pass it in the orchestrator's \`sagas\` option`,
    );
    this.sagaNames = Object.freeze([...sagaNames]);
    this.sagaIds = Object.freeze([...sagaIds]);
  }
}

/** True when `error` is a {@link SagaNotRegisteredError} from any copy of the package. */
export const isSagaNotRegisteredError: (error: unknown) => error is SagaNotRegisteredError =
  errorGuard<SagaNotRegisteredError>(SagaNotRegisteredError.code);

/**
 * A saga in the log was started with other steps than the registered definition has
 * (`E_SAGA_DEFINITION_MISMATCH`), e.g. after a deploy renamed a step. Driving it with the new definition
 * could skip or repeat effects, so it is left untouched.
 */
export class SagaDefinitionMismatchError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_DEFINITION_MISMATCH';
  /** The saga instance. */
  readonly sagaId: string;
  /** The definition name. */
  readonly sagaName: string;
  /** Step names recorded when the saga started. */
  readonly recordedSteps: readonly string[];
  /** Step names of the registered definition. */
  readonly definedSteps: readonly string[];

  /**
   * @param sagaId - The saga instance.
   * @param sagaName - The definition name.
   * @param recordedSteps - Step names in the log.
   * @param definedSteps - Step names of the registered definition.
   */
  constructor(sagaId: string, sagaName: string, recordedSteps: readonly string[], definedSteps: readonly string[]) {
    super(
      SagaDefinitionMismatchError.code,
      `saga ${sagaId} ("${sagaName}") was started with steps [${recordedSteps.join(', ')}] ` +
        `but the registered definition has [${definedSteps.join(', ')}]`,
    );
    this.sagaId = sagaId;
    this.sagaName = sagaName;
    this.recordedSteps = Object.freeze([...recordedSteps]);
    this.definedSteps = Object.freeze([...definedSteps]);
  }
}

/** True when `error` is a {@link SagaDefinitionMismatchError} from any copy of the package. */
export const isSagaDefinitionMismatchError: (error: unknown) => error is SagaDefinitionMismatchError =
  errorGuard<SagaDefinitionMismatchError>(SagaDefinitionMismatchError.code);

/**
 * Another owner holds the saga's lease, or this orchestrator lost it mid-run (`E_SAGA_LEASE`). The saga is
 * left to its current driver; nothing more is written by this one.
 */
export class SagaLeaseError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_LEASE';
  /** The saga instance. */
  readonly sagaId: string;
  /** The owner that wanted the lease. */
  readonly owner: string;
  /** The owner holding it, when known. */
  readonly heldBy: string | undefined;

  /**
   * @param sagaId - The saga instance.
   * @param owner - The owner that wanted the lease.
   * @param heldBy - The owner holding it, when known.
   */
  constructor(sagaId: string, owner: string, heldBy: string | undefined) {
    super(
      SagaLeaseError.code,
      `saga ${sagaId}: ${owner} does not hold the lease` + (heldBy === undefined ? '' : ` (held by ${heldBy})`),
    );
    this.sagaId = sagaId;
    this.owner = owner;
    this.heldBy = heldBy;
  }
}

/** True when `error` is a {@link SagaLeaseError} from any copy of the package. */
export const isSagaLeaseError: (error: unknown) => error is SagaLeaseError = errorGuard<SagaLeaseError>(
  SagaLeaseError.code,
);

/**
 * An operation that the saga's status does not allow (`E_SAGA_STATE`): `skip` on a saga that does not need
 * intervention, on a step that is not pending, a second driver in the same orchestrator… Nothing changed.
 */
export class SagaStateError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_STATE';
  /** The saga instance. */
  readonly sagaId: string;
  /** Its status when the operation was refused. */
  readonly status: string;
  /** The refused operation, e.g. `skip`. */
  readonly operation: string;

  /**
   * @param sagaId - The saga instance.
   * @param status - Its status.
   * @param operation - The refused operation.
   * @param reason - Why it was refused.
   */
  constructor(sagaId: string, status: string, operation: string, reason: string) {
    super(SagaStateError.code, `saga ${sagaId} (${status}): cannot ${operation}: ${reason}`);
    this.sagaId = sagaId;
    this.status = status;
    this.operation = operation;
  }
}

/** True when `error` is a {@link SagaStateError} from any copy of the package. */
export const isSagaStateError: (error: unknown) => error is SagaStateError = errorGuard<SagaStateError>(
  SagaStateError.code,
);

/**
 * A log that cannot be read faithfully (`E_SAGA_LOG_CORRUPT`): a damaged line that is not the torn tail of a
 * crash, or a saga whose hash chain does not verify. Nothing is guessed: the saga (or file) is left as is.
 */
export class SagaLogCorruptError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_LOG_CORRUPT';
  /** The file path or saga id at fault. */
  readonly source: string;
  /** The 1-based line (file) or 0-based record index (saga) at fault. */
  readonly position: number;

  /**
   * @param source - The file path or saga id.
   * @param position - Line number (file) or record index (saga).
   * @param reason - What is wrong there.
   */
  constructor(source: string, position: number, reason: string) {
    super(SagaLogCorruptError.code, `${source} @ ${position}: ${reason}`);
    this.source = source;
    this.position = position;
  }
}

/** True when `error` is a {@link SagaLogCorruptError} from any copy of the package. */
export const isSagaLogCorruptError: (error: unknown) => error is SagaLogCorruptError = errorGuard<SagaLogCorruptError>(
  SagaLogCorruptError.code,
);

/**
 * The log file is open in another live process (`E_SAGA_LOG_LOCKED`). A file log has one writer process;
 * a lock left by a dead process is taken over.
 */
export class SagaLogLockedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_LOG_LOCKED';
  /** The log file. */
  readonly path: string;
  /** The process holding it. */
  readonly pid: number;

  /**
   * @param path - The log file.
   * @param pid - The process holding it.
   */
  constructor(path: string, pid: number) {
    super(SagaLogLockedError.code, `${path} is open in process ${pid}`);
    this.path = path;
    this.pid = pid;
  }
}

/** True when `error` is a {@link SagaLogLockedError} from any copy of the package. */
export const isSagaLogLockedError: (error: unknown) => error is SagaLogLockedError = errorGuard<SagaLogLockedError>(
  SagaLogLockedError.code,
);

/**
 * The log was closed, or failed to write and stopped accepting work (`E_SAGA_LOG_CLOSED`); the I/O error is
 * in `cause`. After a failed write the in-memory view may be ahead of the disk, so reopen the file.
 */
export class SagaLogClosedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_LOG_CLOSED';

  /**
   * @param message - What happened.
   * @param options - `cause`: the I/O error, if any.
   */
  constructor(message = 'the saga log is closed', options?: SystemDesignErrorOptions) {
    super(SagaLogClosedError.code, message, options);
  }
}

/** True when `error` is a {@link SagaLogClosedError} from any copy of the package. */
export const isSagaLogClosedError: (error: unknown) => error is SagaLogClosedError = errorGuard<SagaLogClosedError>(
  SagaLogClosedError.code,
);

/**
 * A step or compensation failure rebuilt from the log (`E_SAGA_RECORDED_ERROR`), when the original error
 * object died with another process. Carries the recorded name, code and message.
 */
export class SagaRecordedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_SAGA_RECORDED_ERROR';
  /** The step that failed. */
  readonly step: string;
  /** The original error's `name`. */
  readonly originalName: string;
  /** The original error's `code`, when it had a string one. */
  readonly originalCode: string | undefined;

  /**
   * @param step - The step that failed.
   * @param originalName - The original error's name.
   * @param message - The original message.
   * @param originalCode - The original code, if any.
   */
  constructor(step: string, originalName: string, message: string, originalCode?: string) {
    super(SagaRecordedError.code, message);
    this.step = step;
    this.originalName = originalName;
    this.originalCode = originalCode;
  }
}

/** True when `error` is a {@link SagaRecordedError} from any copy of the package. */
export const isSagaRecordedError: (error: unknown) => error is SagaRecordedError = errorGuard<SagaRecordedError>(
  SagaRecordedError.code,
);
