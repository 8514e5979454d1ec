/**
 * system-design-blocks: typed, in-process building blocks of large e-commerce systems.
 *
 * The root exports the shared primitives (clock, errors, events, hashing) and every block; each block also
 * has its own subpath (`system-design-blocks/sharding`, …) so an application loads only what it uses.
 *
 * @packageDocumentation
 */

export * from './cache/index.js';
export {
  AbortedError,
  Backoff,
  type BackoffOptions,
  type BackoffSchedule,
  type Clock,
  type ContractTest,
  canonicalJson,
  type Disposable,
  Emitter,
  flushMicrotasks,
  type HashInput,
  type Hashing,
  HashingNotReadyError,
  initHashing,
  isAbortedError,
  isHashingNotReadyError,
  isHashingReady,
  isSystemDesignError,
  isValidationError,
  type Jitter,
  type JsonValue,
  type Listener,
  ManualClock,
  type Subscribe,
  SystemDesignError,
  type SystemDesignErrorOptions,
  seededRandom,
  sha256Hex,
  systemClock,
  ValidationError,
  type ValidationErrorDetails,
  xxh32,
  xxh64,
} from './core/index.js';
export * from './idempotency/index.js';
export * from './inventory/index.js';
export * from './resilience/index.js';
export * from './saga/index.js';
export * from './sharding/index.js';
