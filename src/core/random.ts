/**
 * A seeded source of uniform numbers, for reproducible jitter, simulations and examples.
 */
import { assertInteger } from './validation.js';

/**
 * Returns a deterministic generator of numbers in [0, 1) (mulberry32: 32-bit state, fast, good enough
 * for jitter and simulations; not for anything secret). The same seed gives the same sequence, so a
 * backoff's jitter or a simulated workload can be replayed exactly.
 *
 * @param seed - Any safe integer; only its low 32 bits matter.
 * @throws {@link ValidationError} when `seed` is not an integer.
 * @example
 * ```ts
 * import { Backoff, seededRandom } from 'system-design-blocks';
 *
 * const backoff = new Backoff({ initial: 100, jitter: 'full', random: seededRandom(42) });
 * console.log(backoff.start().next()); // the same delay on every run
 * ```
 */
export function seededRandom(seed: number): () => number {
  assertInteger(seed, 'seed');
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
