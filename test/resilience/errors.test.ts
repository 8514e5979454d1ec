import { describe, expect, it } from 'vitest';
import { isSystemDesignError, SystemDesignError } from '../../src/core/index.js';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  isBulkheadRejectedError,
  isCapacityRejection,
  isCircuitOpenError,
  isRateLimitedError,
  isRetryExhaustedError,
  isTimeoutError,
  RateLimitedError,
  RetryExhaustedError,
  TimeoutError,
} from '../../src/resilience/index.js';

describe('resilience errors', () => {
  const cases = [
    [new CircuitOpenError({ breaker: 'b', reason: 'open', retryAfterMs: 10.2 }), 'E_CIRCUIT_OPEN', isCircuitOpenError],
    [new TimeoutError({ timeoutMs: 5 }), 'E_TIMEOUT', isTimeoutError],
    [new BulkheadRejectedError({ concurrency: 2, maxQueue: 3 }), 'E_BULKHEAD_REJECTED', isBulkheadRejectedError],
    [new RateLimitedError({ requested: 2, retryAfterMs: 9.5 }), 'E_RATE_LIMITED', isRateLimitedError],
    [new RetryExhaustedError({ errors: ['a', new Error('b')] }), 'E_RETRY_EXHAUSTED', isRetryExhaustedError],
  ] as const;

  it.each(cases)('%s has its stable code, name and guard', (error, code, guard) => {
    expect(error).toBeInstanceOf(SystemDesignError);
    expect(isSystemDesignError(error)).toBe(true);
    expect(error.code).toBe(code);
    expect(error.name).toBe(error.constructor.name);
    expect(guard(error)).toBe(true);
    for (const [other, , otherGuard] of cases) if (other !== error) expect(otherGuard(error)).toBe(false);
    expect(guard(new Error('plain'))).toBe(false);
    expect(guard(null)).toBe(false);
  });

  it('guards work on errors from another copy of the package (brand + code, not instanceof)', () => {
    const foreign = Object.assign(new Error('x'), { code: 'E_CIRCUIT_OPEN' });
    expect(isCircuitOpenError(foreign)).toBe(false);
    const branded = Object.assign(new Error('x'), {
      code: 'E_TIMEOUT',
      [Symbol.for('system-design-blocks.error')]: true,
    });
    expect(isTimeoutError(branded)).toBe(true);
  });

  it('carry their context and readable messages', () => {
    expect(new CircuitOpenError({ breaker: 'pay', reason: 'open', retryAfterMs: 10.2 }).message).toBe(
      'Circuit "pay" refused the call (open; half-open in 11 ms)',
    );
    expect(new CircuitOpenError({ breaker: 'pay', reason: 'isolated' }).retryAfterMs).toBeUndefined();
    const cause = new Error('socket hang up');
    expect(new TimeoutError({ timeoutMs: 5, cause }).cause).toBe(cause);
    const exhausted = new RetryExhaustedError({ errors: ['a', cause] });
    expect(exhausted).toMatchObject({ attempts: 2, cause, message: 'Gave up after 2 attempt(s): socket hang up' });
    expect(new RateLimitedError({ requested: 2, retryAfterMs: 9.5 }).message).toBe(
      'Rate limited: 2 token(s) available in 10 ms',
    );
  });

  it('isCapacityRejection recognises shed load only', () => {
    expect(isCapacityRejection(new BulkheadRejectedError({ concurrency: 1, maxQueue: 0 }))).toBe(true);
    expect(isCapacityRejection(new RateLimitedError({ requested: 1, retryAfterMs: 0 }))).toBe(true);
    expect(isCapacityRejection(new TimeoutError({ timeoutMs: 1 }))).toBe(false);
    expect(isCapacityRejection('busy')).toBe(false);
  });
});
