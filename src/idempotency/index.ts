/**
 * Idempotent payments: idempotency keys with leases and fencing tokens, saved and replayed outcomes, and a
 * payment processor that charges exactly once through a gateway that honours its own idempotency keys.
 *
 * @module
 */
export { type IdempotencyStoreFixture, runIdempotencyStoreContract } from './contract.js';
export {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  IdempotencyLeaseLostError,
  IdempotencyStoreError,
  type IdempotencyStoreOperation,
  IdempotencyUnserializableError,
  isIdempotencyInProgressError,
  isIdempotencyKeyReusedError,
  isIdempotencyLeaseLostError,
  isIdempotencyStoreError,
  isIdempotencyUnserializableError,
} from './errors.js';
export {
  isPaymentGatewayRejectedError,
  isPaymentGatewayTimeoutError,
  isPaymentGatewayUnavailableError,
  type PaymentCardSummary,
  type PaymentGateway,
  type PaymentGatewayCallOptions,
  type PaymentGatewayChargeRequest,
  type PaymentGatewayChargeResult,
  type PaymentGatewayOperation,
  type PaymentGatewayRefundRequest,
  type PaymentGatewayRefundResult,
  PaymentGatewayRejectedError,
  type PaymentGatewayRejection,
  PaymentGatewayTimeoutError,
  PaymentGatewayUnavailableError,
  type SimulatedCard,
  type SimulatedCharge,
  SimulatedGateway,
  type SimulatedGatewayCall,
  type SimulatedGatewayFault,
  type SimulatedGatewayOptions,
} from './gateway.js';
export {
  assertIdempotencyKey,
  type IdempotencyContext,
  type IdempotencyEvent,
  type IdempotencyEventBase,
  type IdempotencyInProgressPolicy,
  type IdempotentCallOptions,
  type IdempotentFunction,
  type IdempotentHandler,
  type IdempotentOptions,
  type IdempotentResult,
  idempotent,
  isReplayedError,
  requestFingerprint,
} from './idempotent.js';
export {
  createPaymentProcessor,
  isPaymentDeclinedError,
  type PaymentChargeReceipt,
  type PaymentChargeRequest,
  PaymentDeclinedError,
  type PaymentMerchantData,
  type PaymentPhaseEvent,
  PaymentProcessor,
  type PaymentProcessorOptions,
  type PaymentRecoveryPoint,
  type PaymentRefundReceipt,
  type PaymentRefundRequest,
  type PaymentSweepFailure,
  type PaymentSweepOptions,
  type PaymentSweepReport,
} from './processor.js';
export { redactCardNumbers } from './redact.js';
export {
  type IdempotencyBeginInput,
  type IdempotencyBeginResult,
  type IdempotencyCheckpointInput,
  type IdempotencyCompletedRecord,
  type IdempotencyCompleteInput,
  type IdempotencyInProgressRecord,
  type IdempotencyListInput,
  type IdempotencyOutcome,
  type IdempotencyRecord,
  type IdempotencyRecordBase,
  type IdempotencyRecordId,
  type IdempotencyReleaseInput,
  type IdempotencyStore,
  type IdempotencyStoredError,
  MemoryIdempotencyStore,
  type MemoryIdempotencyStoreOptions,
} from './store.js';
