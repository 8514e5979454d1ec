/**
 * The errors of the resilience block. Each has a stable `code`, the context a caller needs to decide what
 * to do next (retry later, shed, degrade) and an `isXError` guard that works across copies of the package.
 */
import { errorGuard, SystemDesignError, type SystemDesignErrorOptions } from '../core/index.js';

/** Why a {@link CircuitBreaker} refused a call. */
export type CircuitOpenReason = 'open' | 'isolated' | 'probeInFlight' | 'disposed';

/** Context of a {@link CircuitOpenError}. */
export interface CircuitOpenErrorDetails extends SystemDesignErrorOptions {
  /** Name of the breaker that refused the call. */
  readonly breaker: string;
  /** Why the call was refused. */
  readonly reason: CircuitOpenReason;
  /** Milliseconds until the breaker admits a probe again; `undefined` when unknown (isolated, probe in flight). */
  readonly retryAfterMs?: number | undefined;
}

/**
 * A circuit breaker refused the call without running it (`E_CIRCUIT_OPEN`): it is open, isolated, disposed,
 * or half-open with its single probe already in flight. Fail fast, degrade, or come back after
 * `retryAfterMs`.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, isCircuitOpenError } from 'system-design-blocks/resilience';
 *
 * const breaker = new CircuitBreaker({ name: 'payments' });
 * breaker.isolate();
 * try {
 *   await breaker.execute(async () => 'charged');
 * } catch (error: unknown) {
 *   if (isCircuitOpenError(error)) console.log(error.breaker, error.reason); // payments isolated
 * }
 * ```
 */
export class CircuitOpenError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_CIRCUIT_OPEN';
  /** Name of the breaker that refused the call. */
  readonly breaker: string;
  /** Why the call was refused. */
  readonly reason: CircuitOpenReason;
  /** Milliseconds until a probe is admitted again, when known. */
  readonly retryAfterMs: number | undefined;

  constructor(details: CircuitOpenErrorDetails) {
    const after = details.retryAfterMs === undefined ? '' : `; half-open in ${Math.ceil(details.retryAfterMs)} ms`;
    super(CircuitOpenError.code, `Circuit "${details.breaker}" refused the call (${details.reason}${after})`, details);
    this.breaker = details.breaker;
    this.reason = details.reason;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** True when `error` is a {@link CircuitOpenError} from any copy of the package. */
export const isCircuitOpenError: (error: unknown) => error is CircuitOpenError = errorGuard<CircuitOpenError>(
  CircuitOpenError.code,
);

/** Context of a {@link TimeoutError}. */
export interface TimeoutErrorDetails extends SystemDesignErrorOptions {
  /** The time limit that was exceeded, in ms. */
  readonly timeoutMs: number;
}

/**
 * A call took longer than its time limit (`E_TIMEOUT`). The signal handed to the call was aborted with this
 * error as its reason, so work that honours the signal stops too.
 *
 * @example
 * ```ts
 * import { isTimeoutError, timeout } from 'system-design-blocks/resilience';
 *
 * try {
 *   await timeout(10).execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
 * } catch (error: unknown) {
 *   if (isTimeoutError(error)) console.log(error.timeoutMs); // 10
 * }
 * ```
 */
export class TimeoutError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_TIMEOUT';
  /** The time limit that was exceeded, in ms. */
  readonly timeoutMs: number;

  constructor(details: TimeoutErrorDetails) {
    super(TimeoutError.code, `Timed out after ${details.timeoutMs} ms`, details);
    this.timeoutMs = details.timeoutMs;
  }
}

/** True when `error` is a {@link TimeoutError} from any copy of the package. */
export const isTimeoutError: (error: unknown) => error is TimeoutError = errorGuard<TimeoutError>(TimeoutError.code);

/** Context of a {@link BulkheadRejectedError}. */
export interface BulkheadRejectedErrorDetails extends SystemDesignErrorOptions {
  /** Calls the bulkhead runs at once. */
  readonly concurrency: number;
  /** Calls it lets wait for a slot. */
  readonly maxQueue: number;
}

/**
 * A bulkhead shed the call because every slot is busy and its queue is full (`E_BULKHEAD_REJECTED`). Thrown
 * at once, without waiting. Not a failure of the dependency: circuit breakers do not count it.
 *
 * @example
 * ```ts
 * import { bulkhead, isBulkheadRejectedError } from 'system-design-blocks/resilience';
 *
 * const shed = bulkhead({ concurrency: 1, maxQueue: 0 });
 * const slow = shed.execute(() => new Promise((resolve) => setTimeout(resolve, 10)));
 * try {
 *   await shed.execute(async () => 'second');
 * } catch (error: unknown) {
 *   if (isBulkheadRejectedError(error)) console.log('shed, concurrency', error.concurrency);
 * }
 * await slow;
 * ```
 */
export class BulkheadRejectedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_BULKHEAD_REJECTED';
  /** Calls the bulkhead runs at once. */
  readonly concurrency: number;
  /** Calls it lets wait for a slot. */
  readonly maxQueue: number;

  constructor(details: BulkheadRejectedErrorDetails) {
    super(
      BulkheadRejectedError.code,
      `Bulkhead full: ${details.concurrency} running and ${details.maxQueue} queued`,
      details,
    );
    this.concurrency = details.concurrency;
    this.maxQueue = details.maxQueue;
  }
}

/** True when `error` is a {@link BulkheadRejectedError} from any copy of the package. */
export const isBulkheadRejectedError: (error: unknown) => error is BulkheadRejectedError =
  errorGuard<BulkheadRejectedError>(BulkheadRejectedError.code);

/** Context of a {@link RateLimitedError}. */
export interface RateLimitedErrorDetails extends SystemDesignErrorOptions {
  /** Tokens the call asked for. */
  readonly requested: number;
  /** Milliseconds until that many tokens will be available (ignoring callers that arrive meanwhile). */
  readonly retryAfterMs: number;
}

/**
 * A {@link RateLimiter} had no token for the call, or too many callers were already waiting
 * (`E_RATE_LIMITED`). Not a failure of the dependency: circuit breakers do not count it.
 *
 * @example
 * ```ts
 * import { isRateLimitedError, RateLimiter } from 'system-design-blocks/resilience';
 *
 * const limiter = new RateLimiter({ capacity: 1, refillPerSecond: 1 });
 * await limiter.execute(async () => 'first');
 * try {
 *   await limiter.execute(async () => 'second');
 * } catch (error: unknown) {
 *   if (isRateLimitedError(error)) console.log(`retry in ${Math.ceil(error.retryAfterMs)} ms`);
 * }
 * ```
 */
export class RateLimitedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_RATE_LIMITED';
  /** Tokens the call asked for. */
  readonly requested: number;
  /** Milliseconds until that many tokens will be available. */
  readonly retryAfterMs: number;

  constructor(details: RateLimitedErrorDetails) {
    super(
      RateLimitedError.code,
      `Rate limited: ${details.requested} token(s) available in ${Math.ceil(details.retryAfterMs)} ms`,
      details,
    );
    this.requested = details.requested;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** True when `error` is a {@link RateLimitedError} from any copy of the package. */
export const isRateLimitedError: (error: unknown) => error is RateLimitedError = errorGuard<RateLimitedError>(
  RateLimitedError.code,
);

/** Context of a {@link RetryExhaustedError}. */
export interface RetryExhaustedErrorDetails {
  /** Every attempt's error, in order; the last one is also the `cause`. */
  readonly errors: readonly unknown[];
}

/**
 * Every attempt of a {@link RetryPolicy} failed (`E_RETRY_EXHAUSTED`). The last attempt's error is the
 * `cause`; all attempts' errors are in `errors`, in order.
 *
 * @example
 * ```ts
 * import { isRetryExhaustedError, retry } from 'system-design-blocks/resilience';
 *
 * try {
 *   await retry({ maxAttempts: 2, backoff: { initial: 1, jitter: 'none' } }).execute(({ attempt }) => {
 *     throw new Error(`attempt ${attempt} failed`);
 *   });
 * } catch (error: unknown) {
 *   if (isRetryExhaustedError(error)) console.log(error.attempts, error.errors.length); // 2 2
 * }
 * ```
 */
export class RetryExhaustedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_RETRY_EXHAUSTED';
  /** Number of attempts made. */
  readonly attempts: number;
  /** Every attempt's error, in order. */
  readonly errors: readonly unknown[];

  constructor(details: RetryExhaustedErrorDetails) {
    const errors = Object.freeze([...details.errors]);
    const last: unknown = errors[errors.length - 1];
    const lastMessage = last instanceof Error ? last.message : String(last);
    super(RetryExhaustedError.code, `Gave up after ${errors.length} attempt(s): ${lastMessage}`, { cause: last });
    this.attempts = errors.length;
    this.errors = errors;
  }
}

/** True when `error` is a {@link RetryExhaustedError} from any copy of the package. */
export const isRetryExhaustedError: (error: unknown) => error is RetryExhaustedError = errorGuard<RetryExhaustedError>(
  RetryExhaustedError.code,
);

/**
 * True for the errors that mean "no capacity right now" rather than "the dependency failed": bulkhead and
 * rate-limit rejections. Breakers do not count them; retries do not repeat them by default.
 */
export function isCapacityRejection(error: unknown): boolean {
  return isBulkheadRejectedError(error) || isRateLimitedError(error);
}
