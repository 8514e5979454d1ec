import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidationError, seededRandom } from '../../src/core/index.js';

describe('seededRandom', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const seqA = Array.from({ length: 20 }, a);
    expect(Array.from({ length: 20 }, b)).toEqual(seqA);
    expect(Array.from({ length: 20 }, c)).not.toEqual(seqA);
  });

  it('stays in [0, 1) and is roughly uniform', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const r = seededRandom(seed);
        for (let i = 0; i < 100; i++) {
          const x = r();
          expect(x >= 0 && x < 1).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
    const r = seededRandom(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(r() * 10)]! += 1;
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500); // > 15 standard deviations
  });

  it('rejects a seed that is not an integer', () => {
    let caught: unknown;
    try {
      seededRandom(1.5);
    } catch (error: unknown) {
      caught = error;
    }
    expect(isValidationError(caught) && caught.argument).toBe('seed');
  });
});
