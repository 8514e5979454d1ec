/**
 * Boundary checks shared by every block. Each throws a {@link ValidationError} naming the argument, the
 * expectation and the value that came, and narrows the type for the caller.
 */
import { ValidationError } from './errors.js';

function fail(argument: string, expected: string, received: unknown): never {
  throw new ValidationError({ argument, expected, received });
}

/** Asserts a finite number. */
export function assertFiniteNumber(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(argument, 'a finite number', value);
}

/** Asserts a finite number greater than 0. */
export function assertPositiveNumber(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(argument, 'a finite number > 0', value);
  }
}

/** Asserts a finite number greater than or equal to 0. */
export function assertNonNegativeNumber(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(argument, 'a finite number >= 0', value);
  }
}

/** Asserts a safe integer greater than 0. */
export function assertPositiveInteger(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    fail(argument, 'a positive integer', value);
  }
}

/** Asserts a safe integer greater than or equal to 0. */
export function assertNonNegativeInteger(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(argument, 'an integer >= 0', value);
  }
}

/** Asserts a safe integer (any sign). */
export function assertInteger(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(argument, 'an integer', value);
}

/**
 * Asserts a finite number in a range.
 *
 * @param min - Lower bound, inclusive.
 * @param max - Upper bound.
 * @param maxInclusive - Whether `max` itself is allowed.
 */
export function assertNumberInRange(
  value: unknown,
  argument: string,
  min: number,
  max: number,
  maxInclusive = true,
): asserts value is number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    (maxInclusive ? value > max : value >= max)
  ) {
    fail(argument, `a number in [${min}, ${max}${maxInclusive ? ']' : ')'}`, value);
  }
}

/** Asserts a string with at least one character. */
export function assertNonEmptyString(value: unknown, argument: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) fail(argument, 'a non-empty string', value);
}

/** Asserts a function. */
export function assertFunction(value: unknown, argument: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') fail(argument, 'a function', value);
}

/** Asserts a non-null object (arrays included). */
export function assertObject(value: unknown, argument: string): asserts value is object {
  if (typeof value !== 'object' || value === null) fail(argument, 'an object', value);
}

/** Asserts an array. */
export function assertArray(value: unknown, argument: string): asserts value is unknown[] {
  if (!Array.isArray(value)) fail(argument, 'an array', value);
}

/** Asserts a boolean. */
export function assertBoolean(value: unknown, argument: string): asserts value is boolean {
  if (typeof value !== 'boolean') fail(argument, 'a boolean', value);
}

/**
 * Asserts one of a fixed set of values.
 *
 * @param allowed - The accepted values.
 */
export function assertOneOf<const T extends readonly unknown[]>(
  value: unknown,
  argument: string,
  allowed: T,
): asserts value is T[number] {
  if (!allowed.includes(value)) {
    fail(argument, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  }
}

/** Asserts an `AbortSignal` or `undefined`. */
export function assertOptionalSignal(value: unknown, argument: string): asserts value is AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) fail(argument, 'an AbortSignal or undefined', value);
}

/**
 * Asserts an options bag: `undefined` or a plain object. Returns it, or an empty object.
 */
export function optionsObject<T extends object>(value: T | undefined, argument: string): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(argument, 'an options object or undefined', value);
  }
  return value;
}

/** Throws a {@link ValidationError}; for checks that the helpers above do not cover. */
export function invalid(argument: string, expected: string, received: unknown): never {
  fail(argument, expected, received);
}
