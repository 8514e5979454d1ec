import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  abortReason,
  describeValue,
  errorGuard,
  isAbortedError,
  isSystemDesignError,
  isValidationError,
  SystemDesignError,
  throwIfAborted,
  ValidationError,
} from '../../src/core/index.js';

describe('errors', () => {
  it('ValidationError names the argument, the expectation and what came', () => {
    const e = new ValidationError({ argument: 'options.ttl', expected: 'a finite number > 0', received: -5 });
    expect(e.code).toBe('E_INVALID_ARGUMENT');
    expect(e.name).toBe('ValidationError');
    expect(e.argument).toBe('options.ttl');
    expect(e.expected).toBe('a finite number > 0');
    expect(e.received).toBe(-5);
    expect(e.message).toBe('options.ttl: expected a finite number > 0, got -5 (number)');
    expect(e).toBeInstanceOf(SystemDesignError);
    expect(e).toBeInstanceOf(Error);
  });

  it('keeps the cause', () => {
    const cause = new Error('root');
    const e = new SystemDesignError('E_X', 'wrapped', { cause });
    expect(e.cause).toBe(cause);
    expect(new SystemDesignError('E_X', 'plain')).not.toHaveProperty('cause');
  });

  it('guards recognise errors by brand and code, not by class identity', () => {
    const e = new ValidationError({ argument: 'a', expected: 'b', received: 1 });
    expect(isValidationError(e)).toBe(true);
    expect(isSystemDesignError(e)).toBe(true);
    expect(isAbortedError(e)).toBe(false);
    // A copy of the package would have its own classes but the same global brand.
    const foreign = Object.assign(new Error('x'), {
      code: 'E_INVALID_ARGUMENT',
      [Symbol.for('system-design-blocks.error')]: true,
    });
    expect(isValidationError(foreign)).toBe(true);
    expect(isValidationError(Object.assign(new Error('x'), { code: 'E_INVALID_ARGUMENT' }))).toBe(false);
    for (const v of [null, undefined, 'E_INVALID_ARGUMENT', 42, {}]) expect(isSystemDesignError(v)).toBe(false);
    const isCustom = errorGuard('E_CUSTOM');
    expect(isCustom(new SystemDesignError('E_CUSTOM', 'm'))).toBe(true);
    expect(isCustom(e)).toBe(false);
  });

  it('describes received values readably', () => {
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue('x')).toBe('"x" (string)');
    expect(describeValue(3n)).toBe('3n (bigint)');
    expect(describeValue(NaN)).toBe('NaN (number)');
    expect(describeValue([1, 2])).toBe('an array of length 2');
    expect(describeValue(new Map())).toBe('an instance of Map');
    expect(describeValue({ a: 1 })).toBe('an object');
    expect(describeValue(function named() {})).toBe('a function (named)');
    expect(describeValue('y'.repeat(100)).length).toBeLessThan(80);
  });

  it('abort reasons: the caller’s own reason is kept, a bare abort becomes AbortedError', () => {
    const bare = new AbortController();
    bare.abort();
    expect(isAbortedError(abortReason(bare.signal))).toBe(true);
    const custom = new AbortController();
    const reason = new Error('shutting down');
    custom.abort(reason);
    expect(abortReason(custom.signal)).toBe(reason);
    expect(() => throwIfAborted(custom.signal)).toThrow(reason);
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    expect(new AbortedError().code).toBe('E_ABORTED');
  });
});
