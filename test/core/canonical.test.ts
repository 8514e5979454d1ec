import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, isValidationError, sha256Hex } from '../../src/core/index.js';

describe('canonicalJson', () => {
  it('sorts keys at every level', () => {
    expect(canonicalJson({ b: { d: 1, c: [2, { z: 0, y: 1 }] }, a: 'x' })).toBe(
      '{"a":"x","b":{"c":[2,{"y":1,"z":0}],"d":1}}',
    );
  });

  it('is independent of key order and parses back to the same data (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        const reordered = JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
          v !== null && typeof v === 'object' && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v as object).reverse())
            : v,
        ) as unknown;
        expect(canonicalJson(reordered)).toBe(text);
      }),
    );
  });

  it('rejects what JSON cannot carry, naming the path', () => {
    const cases: [unknown, string][] = [
      [{ a: { b: () => 1 } }, 'value.a.b'],
      [[1, Number.NaN], 'value[1]'],
      [{ when: new Date(0) }, 'value.when'],
      [{ n: 1n }, 'value.n'],
      [[undefined], 'value[0]'],
      [Symbol('s'), 'value'],
    ];
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    cases.push([cyclic, 'value.self']);
    for (const [input, argument] of cases) {
      let caught: unknown;
      try {
        canonicalJson(input);
      } catch (error: unknown) {
        caught = error;
      }
      expect(isValidationError(caught) && caught.argument).toBe(argument);
    }
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    const shared = { x: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });
});

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 vector', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(sha256Hex('abc'));
  });
});
