import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import * as v from '../../src/core/validation.js';

function rejects(run: () => void, argument: string, expected: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error: unknown) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  expect((caught as ValidationError).argument).toBe(argument);
  expect((caught as ValidationError).expected).toMatch(expected);
}

describe('validation helpers', () => {
  it('accept good values', () => {
    v.assertFiniteNumber(-1.5, 'x');
    v.assertPositiveNumber(0.1, 'x');
    v.assertNonNegativeNumber(0, 'x');
    v.assertPositiveInteger(3, 'x');
    v.assertNonNegativeInteger(0, 'x');
    v.assertInteger(-3, 'x');
    v.assertNumberInRange(0, 'x', 0, 1, false);
    v.assertNonEmptyString('a', 'x');
    v.assertFunction(() => 1, 'x');
    v.assertObject([], 'x');
    v.assertArray([], 'x');
    v.assertBoolean(false, 'x');
    v.assertOneOf('b', 'x', ['a', 'b'] as const);
    v.assertOptionalSignal(undefined, 'x');
    v.assertOptionalSignal(new AbortController().signal, 'x');
    expect(v.optionsObject(undefined, 'o')).toEqual({});
  });

  it('reject bad values naming the argument and the expectation', () => {
    rejects(() => v.assertFiniteNumber(Number.NaN, 'a'), 'a', /finite/);
    rejects(() => v.assertPositiveNumber(0, 'b'), 'b', /> 0/);
    rejects(() => v.assertNonNegativeNumber(-1, 'c'), 'c', />= 0/);
    rejects(() => v.assertPositiveInteger(1.5, 'd'), 'd', /positive integer/);
    rejects(() => v.assertPositiveInteger('1', 'd'), 'd', /positive integer/);
    rejects(() => v.assertNonNegativeInteger(-1, 'e'), 'e', />= 0/);
    rejects(() => v.assertInteger(2 ** 60, 'f'), 'f', /integer/);
    rejects(() => v.assertNumberInRange(1, 'g', 0, 1, false), 'g', /\[0, 1\)/);
    rejects(() => v.assertNumberInRange(-0.1, 'g', 0, 1), 'g', /\[0, 1\]/);
    rejects(() => v.assertNonEmptyString('', 'h'), 'h', /non-empty string/);
    rejects(() => v.assertFunction({}, 'i'), 'i', /function/);
    rejects(() => v.assertObject(null, 'j'), 'j', /object/);
    rejects(() => v.assertArray({}, 'k'), 'k', /array/);
    rejects(() => v.assertBoolean(0, 'l'), 'l', /boolean/);
    rejects(() => v.assertOneOf('z', 'm', ['a', 'b'] as const), 'm', /one of "a", "b"/);
    rejects(() => v.assertOptionalSignal({}, 'n'), 'n', /AbortSignal/);
    rejects(() => v.optionsObject([] as unknown as object, 'o'), 'o', /options object/);
    rejects(() => v.invalid('p', 'something', 1), 'p', /something/);
  });
});
