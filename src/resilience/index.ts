/**
 * Resilience policies for calls to dependencies that fail or slow down: a circuit breaker on opossum,
 * retries with jittered backoff, timeouts, a bulkhead on p-queue, a token-bucket rate limiter and
 * fallbacks, all with the same `execute(fn, signal?)` shape and composable with {@link pipeline}.
 *
 * @example
 * ```ts
 * import { bulkhead, CircuitBreaker, fallback, pipeline, retry, timeout } from 'system-design-blocks/resilience';
 *
 * const guarded = pipeline(
 *   fallback(null),
 *   bulkhead({ concurrency: 16, maxQueue: 32 }),
 *   retry({ maxAttempts: 3 }),
 *   new CircuitBreaker({ name: 'inventory' }),
 *   timeout(1_000),
 * );
 * const stock = await guarded.execute(async () => 42); // number | null
 * console.log(stock);
 * ```
 *
 * @module
 */
export { Bulkhead, type BulkheadOptions, type BulkheadRejectEvent, bulkhead } from './bulkhead.js';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  type CircuitBreakerStats,
  type CircuitCloseEvent,
  type CircuitFailureEvent,
  type CircuitHalfOpenEvent,
  type CircuitOpenEvent,
  type CircuitRejectEvent,
  type CircuitState,
  type CircuitSuccessEvent,
  type CircuitTimeoutEvent,
  type CircuitWindowCounts,
  type CircuitWindowStats,
  type ResetAfterOptions,
} from './circuit-breaker.js';
export {
  BulkheadRejectedError,
  type BulkheadRejectedErrorDetails,
  CircuitOpenError,
  type CircuitOpenErrorDetails,
  type CircuitOpenReason,
  isBulkheadRejectedError,
  isCapacityRejection,
  isCircuitOpenError,
  isRateLimitedError,
  isRetryExhaustedError,
  isTimeoutError,
  RateLimitedError,
  type RateLimitedErrorDetails,
  RetryExhaustedError,
  type RetryExhaustedErrorDetails,
  TimeoutError,
  type TimeoutErrorDetails,
} from './errors.js';
export {
  type FallbackEvent,
  type FallbackHandler,
  type FallbackOptions,
  FallbackPolicy,
  fallback,
} from './fallback.js';
export { Pipeline, pipeline } from './pipeline.js';
export type { FallbackOf, PolicyContext, PolicyFn, ResiliencePolicy } from './policy.js';
export { RateLimiter, type RateLimiterOptions } from './rate-limiter.js';
export { defaultRetryIf, type RetryEvent, type RetryOptions, RetryPolicy, retry } from './retry.js';
export { type TimeoutEvent, type TimeoutOptions, TimeoutPolicy, timeout } from './timeout.js';
