import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isAbortedError, ManualClock, ValidationError } from '../../src/core/index.js';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  defaultRetryIf,
  isRetryExhaustedError,
  RateLimitedError,
  RetryExhaustedError,
  retry,
} from '../../src/resilience/index.js';
import { hang, settle } from './helpers.js';

describe('retry', () => {
  it('retries until success, passing the attempt number', async () => {
    const clock = new ManualClock();
    const policy = retry({ maxAttempts: 5, backoff: { initial: 100, jitter: 'none' }, clock });
    const attempts: number[] = [];
    const result = policy.execute(({ attempt }) => {
      attempts.push(attempt);
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return `ok on ${attempt}`;
    });
    await clock.advanceAsync(1_000);
    expect(await result).toBe('ok on 3');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('waits the backoff on the clock between attempts (no jitter: exact exponential delays)', async () => {
    const clock = new ManualClock();
    const policy = retry({ maxAttempts: 5, backoff: { initial: 100, max: 300, multiplier: 2, jitter: 'none' }, clock });
    const startedAt: number[] = [];
    const delays: number[] = [];
    policy.onRetry((e) => delays.push(e.delayMs));
    const result = settle(
      policy.execute(() => {
        startedAt.push(clock.now());
        throw new Error('down');
      }),
    );
    await clock.advanceAsync(10_000);
    const outcome = await result;
    expect(startedAt).toEqual([0, 100, 300, 600, 900]);
    expect(delays).toEqual([100, 200, 300, 300]);
    expect(outcome.ok).toBe(false);
  });

  it('throws RetryExhaustedError with every attempt error, the last as cause', async () => {
    const clock = new ManualClock();
    const errors = [new Error('a'), new Error('b'), new Error('c')];
    const result = settle(
      retry({ maxAttempts: 3, backoff: { initial: 1, jitter: 'none' }, clock }).execute(({ attempt }) => {
        throw errors[attempt - 1];
      }),
    );
    await clock.advanceAsync(10);
    const error = ((await result) as { error: unknown }).error;
    expect(isRetryExhaustedError(error)).toBe(true);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error).toMatchObject({ code: 'E_RETRY_EXHAUSTED', attempts: 3, errors, cause: errors[2] });
    expect((error as Error).message).toContain('3 attempt(s): c');
    expect(Object.isFrozen((error as RetryExhaustedError).errors)).toBe(true);
  });

  it('maxAttempts 1 runs once and still reports exhaustion', async () => {
    const fn = vi.fn(() => Promise.reject(new Error('once')));
    const outcome = await settle(retry({ maxAttempts: 1 }).execute(fn));
    expect(fn).toHaveBeenCalledTimes(1);
    expect((outcome as { error: unknown }).error).toMatchObject({ attempts: 1 });
  });

  it('throws a non-retryable error as it is, at once', async () => {
    const clock = new ManualClock();
    const declined = new Error('card declined');
    const fn = vi.fn(() => Promise.reject(declined));
    const policy = retry({ maxAttempts: 5, clock, retryIf: (e) => e !== declined });
    await expect(policy.execute(fn)).rejects.toBe(declined);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.pending).toBe(0);
  });

  it('retryIf receives the failed attempt number', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const result = settle(
      retry({
        maxAttempts: 10,
        backoff: { initial: 1, jitter: 'none' },
        clock,
        retryIf: (_, attempt) => {
          seen.push(attempt);
          return attempt < 3;
        },
      }).execute(() => Promise.reject(new Error('x'))),
    );
    await clock.advanceAsync(100);
    await result;
    expect(seen).toEqual([1, 2, 3]);
  });

  it('by default does not retry open circuits, shed load or bad input', () => {
    expect(defaultRetryIf(new CircuitOpenError({ breaker: 'b', reason: 'open', retryAfterMs: 5 }))).toBe(false);
    expect(defaultRetryIf(new BulkheadRejectedError({ concurrency: 1, maxQueue: 0 }))).toBe(false);
    expect(defaultRetryIf(new RateLimitedError({ requested: 1, retryAfterMs: 1 }))).toBe(false);
    expect(defaultRetryIf(new ValidationError({ argument: 'x', expected: 'y', received: 1 }))).toBe(false);
    expect(defaultRetryIf(new Error('ECONNRESET'))).toBe(true);
  });

  it('stops during the backoff wait when the signal aborts, releasing the sleeper', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const fn = vi.fn(() => Promise.reject(new Error('down')));
    const result = settle(retry({ maxAttempts: 5, backoff: { initial: 1_000 }, clock }).execute(fn, controller.signal));
    await clock.advanceAsync(0);
    expect(clock.pending).toBe(1);
    controller.abort();
    const outcome = await result;
    expect(isAbortedError((outcome as { error: unknown }).error)).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.pending).toBe(0);
  });

  it('stops during an attempt when the signal aborts, and makes no further attempt', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const fn = vi.fn(hang);
    const result = settle(retry({ maxAttempts: 5, clock }).execute(fn, controller.signal));
    controller.abort(new Error('client gone'));
    expect(await result).toMatchObject({ ok: false, error: { message: 'client gone' } });
    await clock.advanceAsync(60_000);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not start when the signal is already aborted', async () => {
    const fn = vi.fn(() => 1);
    expect((await settle(retry().execute(fn, AbortSignal.abort()))).ok).toBe(false);
    expect(fn).not.toHaveBeenCalled();
  });

  it.each(['none', 'full', 'equal', 'decorrelated'] as const)('keeps %s jitter within its bounds', async (jitter) => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.double({ min: 0, max: 0.999_999, noNaN: true }), { minLength: 6, maxLength: 6 }),
        async (initial, capFactor, draws) => {
          const clock = new ManualClock();
          const max = initial * capFactor;
          let k = 0;
          const policy = retry({
            maxAttempts: 7,
            backoff: { initial, max, multiplier: 2, jitter, random: () => draws[k++ % draws.length] as number },
            clock,
          });
          const delays: number[] = [];
          policy.onRetry((e) => delays.push(e.delayMs));
          const run = settle(policy.execute(() => Promise.reject(new Error('x'))));
          await clock.advanceAsync(1e9);
          await run;
          expect(delays).toHaveLength(6);
          let previous = initial;
          delays.forEach((d, i) => {
            const base = Math.min(max, initial * 2 ** i);
            if (jitter === 'none') expect(d).toBe(base);
            if (jitter === 'full') expect(d >= 0 && d <= base).toBe(true);
            if (jitter === 'equal') expect(d >= base / 2 && d <= base).toBe(true);
            if (jitter === 'decorrelated') {
              expect(d).toBeGreaterThanOrEqual(Math.min(initial, max));
              expect(d).toBeLessThanOrEqual(Math.min(max, previous * 3));
              previous = d;
            }
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects bad options, naming them', () => {
    expect(() => retry({ maxAttempts: 0 })).toThrow(expect.objectContaining({ argument: 'options.maxAttempts' }));
    expect(() => retry({ maxAttempts: Number.POSITIVE_INFINITY })).toThrow(
      expect.objectContaining({ argument: 'options.maxAttempts' }),
    );
    expect(() => retry({ backoff: { initial: -1 } })).toThrow(
      expect.objectContaining({ argument: 'options.backoff.initial' }),
    );
    expect(() => retry({ backoff: { jitter: 'some' as never } })).toThrow(
      expect.objectContaining({ argument: 'options.backoff.jitter' }),
    );
    expect(() => retry({ retryIf: 1 as never })).toThrow(expect.objectContaining({ argument: 'options.retryIf' }));
    expect(() => retry({ clock: 1 as never })).toThrow(expect.objectContaining({ argument: 'options.clock' }));
  });

  it('wrap keeps the parameters', async () => {
    const add = retry({ maxAttempts: 2 }).wrap((a: number, b: number) => a + b);
    expect(await add(2, 3)).toBe(5);
  });
});
