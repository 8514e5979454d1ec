/**
 * Sagas with compensation, a durable write-ahead log and crash recovery, for flows like checkout: reserve
 * stock → charge payment → (pivot) confirm order → ship → notify. Define a saga with {@link defineSaga}, run
 * it with a {@link SagaOrchestrator} over a {@link SagaLog} ({@link MemorySagaLog} or {@link FileSagaLog}),
 * and `recover()` after a crash. Every record is chained by SHA-256 for the audit trail.
 *
 * @module
 */

export { runSagaLogContract, type SagaLogContractContext, type SagaLogContractFactory } from './contract.js';
export {
  type DefineSagaOptions,
  defineSaga,
  type MergedSagaOutputs,
  type NoSagaOutputs,
  Saga,
  type SagaBuilder,
  type SagaCompensatableStep,
  type SagaCompensationContext,
  type SagaForwardBuilder,
  type SagaForwardParallelGroup,
  type SagaForwardStep,
  type SagaInputOf,
  type SagaOutputsOf,
  type SagaParallelGroup,
  type SagaRetryOptions,
  type SagaStepContext,
  type SagaStepInfo,
  type SagaStepKind,
  type SagaStepNameCheck,
  type WithSagaOutput,
} from './definition.js';
export {
  isSagaAlreadyExistsError,
  isSagaDefinitionMismatchError,
  isSagaLeaseError,
  isSagaLogClosedError,
  isSagaLogConflictError,
  isSagaLogCorruptError,
  isSagaLogLockedError,
  isSagaNotFoundError,
  isSagaNotRegisteredError,
  isSagaOutputNotSerializableError,
  isSagaRecordedError,
  isSagaStateError,
  isSagaStepTimeoutError,
  SagaAlreadyExistsError,
  SagaDefinitionMismatchError,
  SagaLeaseError,
  SagaLogClosedError,
  SagaLogConflictError,
  SagaLogCorruptError,
  SagaLogLockedError,
  SagaNotFoundError,
  SagaNotRegisteredError,
  SagaOutputNotSerializableError,
  SagaRecordedError,
  SagaStateError,
  SagaStepTimeoutError,
} from './errors.js';
export { FileSagaLog, type FileSagaLogOpenReport, type FileSagaLogOptions, type FileSagaLogSync } from './file-log.js';
export { MemorySagaLog, type MemorySagaLogOptions, type SagaClaim, type SagaLog } from './log.js';
export {
  type AnySaga,
  type SagaAnyOutputs,
  type SagaEntryOf,
  SagaOrchestrator,
  type SagaOrchestratorOptions,
  type SagaRecoverOptions,
  type SagaRecoveryFailure,
  type SagaRecoveryReport,
  type SagaRecoverySkip,
  type SagaResult,
  type SagaResumeOptions,
  type SagaRunOptions,
  type SagaSkipOptions,
  type SagaSkipReason,
  type SagaVerifyOptions,
} from './orchestrator.js';
export {
  isTerminalSagaRecord,
  SAGA_GENESIS_HASH,
  type SagaEntry,
  type SagaEntryMeta,
  type SagaErrorInfo,
  type SagaLogProblem,
  type SagaLogVerification,
  type SagaPhase,
  type SagaRecord,
  type SagaRecordBody,
  type SagaRecordMeta,
  type SagaRecordType,
  sealSagaRecord,
  type VerifySagaRecordsOptions,
  verifySagaRecords,
} from './records.js';
export type {
  SagaSnapshot,
  SagaSnapshotBase,
  SagaStatus,
  SagaStepSnapshot,
  SagaStepState,
} from './state.js';
