import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, isValidationError } from '../../src/core/index.js';

describe('Backoff', () => {
  it('grows exponentially up to the cap without jitter', () => {
    const s = new Backoff({ initial: 100, max: 1000, multiplier: 2, jitter: 'none' }).start();
    expect(Array.from({ length: 6 }, () => s.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("start(fallback) jitters with the caller's random only when the backoff has none of its own", () => {
    const half = () => 0.5;
    expect(new Backoff({ initial: 100 }).start(half).next()).toBe(50);
    expect(new Backoff({ initial: 100, random: () => 0.25 }).start(half).next()).toBe(25);
    const unseeded = new Backoff({ initial: 100 }).start().next();
    expect(unseeded).toBeGreaterThanOrEqual(0);
    expect(unseeded).toBeLessThan(100);
  });

  it('defaults: initial 100, max 30 s, multiplier 2, full jitter', () => {
    const b = new Backoff();
    expect([b.initial, b.max, b.multiplier, b.jitter]).toEqual([100, 30_000, 2, 'full']);
  });

  it('every strategy stays within its bounds (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('none', 'full', 'equal', 'decorrelated' as const),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 0.999_999, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (jitter, initial, capFactor, multiplier, draws) => {
          let i = 0;
          const b = new Backoff({
            initial,
            max: initial * capFactor,
            multiplier,
            jitter,
            random: () => draws[i++ % draws.length] as number,
          });
          const s = b.start();
          let prev = initial;
          for (let attempt = 1; attempt <= draws.length; attempt++) {
            const d = s.next();
            const base = b.base(attempt);
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThanOrEqual(b.max);
            if (jitter === 'none') expect(d).toBe(base);
            if (jitter === 'full') expect(d).toBeLessThanOrEqual(base);
            if (jitter === 'equal') {
              expect(d).toBeGreaterThanOrEqual(base / 2);
              expect(d).toBeLessThanOrEqual(base);
            }
            if (jitter === 'decorrelated') {
              expect(d).toBeGreaterThanOrEqual(Math.min(initial, b.max));
              expect(d).toBeLessThanOrEqual(Math.min(b.max, prev * 3));
              prev = d;
            }
          }
        },
      ),
    );
  });

  it('rejects bad options naming them', () => {
    const bad: [object, string][] = [
      [{ initial: 0 }, 'backoff.initial'],
      [{ max: -1 }, 'backoff.max'],
      [{ initial: 500, max: 100 }, 'backoff.max'],
      [{ multiplier: 0.5 }, 'backoff.multiplier'],
      [{ jitter: 'sometimes' }, 'backoff.jitter'],
      [{ random: 3 }, 'backoff.random'],
    ];
    for (const [options, argument] of bad) {
      let caught: unknown;
      try {
        new Backoff(options as never);
      } catch (error: unknown) {
        caught = error;
      }
      expect(isValidationError(caught) && caught.argument).toBe(argument);
    }
  });
});
