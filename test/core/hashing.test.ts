import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HashingNotReadyError,
  initHashing,
  isHashingNotReadyError,
  isHashingReady,
  isValidationError,
  xxh32,
  xxh64,
} from '../../src/core/index.js';

describe('hashing before initialisation', () => {
  it('throws HashingNotReadyError, with a message that says what to do', async () => {
    // Vitest isolates modules per file, so this file starts with an uninitialised hasher.
    expect(isHashingReady()).toBe(false);
    let caught: unknown;
    try {
      xxh32('abc');
    } catch (error: unknown) {
      caught = error;
    }
    expect(isHashingNotReadyError(caught)).toBe(true);
    expect(caught).toBeInstanceOf(HashingNotReadyError);
    expect(String((caught as Error).message)).toMatch(/initHashing/);
    expect(() => xxh64('abc')).toThrow(HashingNotReadyError);
  });
});

describe('hashing', () => {
  beforeAll(async () => {
    await initHashing();
  });

  it('initialises once: every call returns the same promise', () => {
    expect(initHashing()).toBe(initHashing());
    expect(isHashingReady()).toBe(true);
  });

  it('matches the reference vectors (seed 0)', () => {
    expect(xxh32('').toString(16).padStart(8, '0')).toBe('02cc5d05');
    expect(xxh32('abc').toString(16)).toBe('32d153ff');
    expect(xxh64('').toString(16)).toBe('ef46db3751d8e999');
    expect(xxh64('abc').toString(16)).toBe('44bc2cf5ad770999');
  });

  it('hashes strings as UTF-8: a string and its bytes agree', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
        const bytes = new TextEncoder().encode(s);
        expect(xxh32(s, seed)).toBe(xxh32(bytes, seed));
        expect(xxh64(s, BigInt(seed))).toBe(xxh64(bytes, BigInt(seed)));
      }),
    );
  });

  it('returns unsigned values in range', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const h = xxh32(s);
        expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
        const g = xxh64(s);
        expect(g >= 0n && g < 1n << 64n).toBe(true);
      }),
    );
  });

  it('seeds change the hash', () => {
    expect(xxh32('abc', 1)).not.toBe(xxh32('abc'));
    expect(xxh64('abc', 1n)).not.toBe(xxh64('abc'));
  });

  it('rejects bad inputs and seeds with a ValidationError naming the argument', () => {
    const cases: (() => unknown)[] = [
      () => xxh32(42 as unknown as string),
      () => xxh64({} as unknown as string),
      () => xxh32('a', -1),
      () => xxh32('a', 1.5),
      () => xxh32('a', 2 ** 32),
      () => xxh64('a', -1n),
      () => xxh64('a', 1n << 64n),
      () => xxh64('a', 1 as unknown as bigint),
    ];
    for (const run of cases) {
      let caught: unknown;
      try {
        run();
      } catch (error: unknown) {
        caught = error;
      }
      expect(isValidationError(caught)).toBe(true);
      expect((caught as { argument: string }).argument).toMatch(/^(input|seed)$/);
    }
  });
});
