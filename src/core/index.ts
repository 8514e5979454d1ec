/**
 * Shared primitives: clock, errors, events, validation, hashing. Public names are re-exported from the
 * package root; blocks import this module, never each other's internals.
 *
 * @module
 */
export { Backoff, type BackoffOptions, type BackoffSchedule, type Jitter } from './backoff.js';
export { canonicalJson, type JsonValue, sha256Hex } from './canonical.js';
export { type Clock, flushMicrotasks, ManualClock, systemClock } from './clock.js';
export type { ContractTest } from './contract.js';
export {
  AbortedError,
  abortReason,
  describeValue,
  errorGuard,
  isAbortedError,
  isSystemDesignError,
  isValidationError,
  SystemDesignError,
  type SystemDesignErrorOptions,
  throwIfAborted,
  ValidationError,
  type ValidationErrorDetails,
} from './errors.js';
export { type Disposable, Emitter, type Listener, type Subscribe } from './events.js';
export {
  type HashInput,
  type Hashing,
  HashingNotReadyError,
  initHashing,
  isHashingNotReadyError,
  isHashingReady,
  xxh32,
  xxh64,
} from './hashing.js';
export { seededRandom } from './random.js';
