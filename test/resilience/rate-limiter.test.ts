import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAbortedError, ManualClock } from '../../src/core/index.js';
import { isRateLimitedError, RateLimitedError, RateLimiter } from '../../src/resilience/index.js';
import { flush, settle } from './helpers.js';

describe('RateLimiter', () => {
  it('starts full, then refills continuously at the configured rate', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ capacity: 5, refillPerSecond: 10, clock });
    for (let i = 0; i < 5; i++) expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(false);
    clock.advance(99);
    expect(limiter.tryTake()).toBe(false);
    clock.advance(1);
    expect(limiter.tryTake()).toBe(true);
    clock.advance(250);
    expect(limiter.available).toBeCloseTo(2.5);
    expect(limiter.tryTake(3)).toBe(false);
    expect(limiter.tryTake(2)).toBe(true);
    clock.advance(60_000);
    expect(limiter.available).toBe(5); // capped at capacity
  });

  it('initialTokens sets the starting level', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ capacity: 10, refillPerSecond: 1, initialTokens: 0, clock });
    expect(limiter.tryTake()).toBe(false);
    clock.advance(1_000);
    expect(limiter.tryTake()).toBe(true);
  });

  it('never grants more than capacity + rate × elapsed (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.record({ advance: fc.integer({ min: 0, max: 300 }), n: fc.integer({ min: 1, max: 5 }) }), {
          maxLength: 50,
        }),
        (capacity, rate, steps) => {
          const clock = new ManualClock();
          const limiter = new RateLimiter({ capacity, refillPerSecond: rate, clock });
          let granted = 0;
          for (const step of steps) {
            clock.advance(step.advance);
            const n = Math.min(step.n, capacity);
            if (limiter.tryTake(n)) granted += n;
            expect(granted).toBeLessThanOrEqual(capacity + (rate * clock.now()) / 1000 + 1e-6);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('take waits for tokens on the clock and serves waiters in arrival order', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ capacity: 4, refillPerSecond: 2, initialTokens: 0, clock });
    const served: string[] = [];
    const big = limiter.take(3).then(() => served.push(`big@${clock.now()}`));
    const small = limiter.take(1).then(() => served.push(`small@${clock.now()}`));
    expect(limiter.waiting).toBe(2);
    expect(limiter.tryTake()).toBe(false); // nobody jumps the queue
    await clock.advanceAsync(1_000);
    expect(served).toEqual([]); // 2 tokens: not enough for the head, the small one waits behind it
    await clock.advanceAsync(500);
    expect(served).toEqual(['big@1500']);
    await clock.advanceAsync(500);
    await Promise.all([big, small]);
    expect(served).toEqual(['big@1500', 'small@2000']);
    expect(clock.pending).toBe(0);
  });

  it('an aborted waiter leaves the queue and the next one is served', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ capacity: 2, refillPerSecond: 1, initialTokens: 0, clock });
    const controller = new AbortController();
    const head = settle(limiter.take(2, controller.signal));
    const next = limiter.take(1).then(() => clock.now());
    controller.abort();
    expect(isAbortedError(((await head) as { error: unknown }).error)).toBe(true);
    await clock.advanceAsync(1_000);
    expect(await next).toBe(1_000);
    expect(limiter.waiting).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a waiter aborted behind the head just leaves', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ capacity: 2, refillPerSecond: 1, initialTokens: 0, clock });
    const controller = new AbortController();
    const head = limiter.take(1).then(() => clock.now());
    const behind = settle(limiter.take(1, controller.signal));
    controller.abort();
    await flush();
    expect((await behind).ok).toBe(false);
    await clock.advanceAsync(1_000);
    expect(await head).toBe(1_000);
  });

  it('rejects at once with RateLimitedError when maxWaiting callers already wait', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ capacity: 1, refillPerSecond: 1, initialTokens: 0, maxWaiting: 1, clock });
    const waiting = limiter.take();
    const error = ((await settle(limiter.take())) as { error: unknown }).error;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: 'E_RATE_LIMITED', requested: 1, retryAfterMs: 2_000 });
    await clock.advanceAsync(1_000);
    await waiting;
  });

  it('execute sheds with RateLimitedError and retryAfterMs when no token is free', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ capacity: 1, refillPerSecond: 4, clock });
    expect(await limiter.execute(() => 'first')).toBe('first');
    const error = ((await settle(limiter.execute(() => 'second'))) as { error: unknown }).error;
    expect(isRateLimitedError(error)).toBe(true);
    expect((error as RateLimitedError).retryAfterMs).toBe(250);
    clock.advance(250);
    expect(await limiter.execute(() => 'third')).toBe('third');
  });

  it('validates its options and amounts', async () => {
    expect(() => new RateLimiter({ capacity: 0, refillPerSecond: 1 })).toThrow(
      expect.objectContaining({ argument: 'options.capacity' }),
    );
    expect(() => new RateLimiter({ capacity: 1, refillPerSecond: 0 })).toThrow(
      expect.objectContaining({ argument: 'options.refillPerSecond' }),
    );
    expect(() => new RateLimiter({ capacity: 1, refillPerSecond: 1, initialTokens: 2 })).toThrow(
      expect.objectContaining({ argument: 'options.initialTokens' }),
    );
    const limiter = new RateLimiter({ capacity: 2, refillPerSecond: 1 });
    expect(() => limiter.tryTake(3)).toThrow(expect.objectContaining({ argument: 'n' }));
    expect(() => limiter.tryTake(0)).toThrow(expect.objectContaining({ argument: 'n' }));
    await expect(limiter.take(3)).rejects.toMatchObject({ argument: 'n' });
  });
});
