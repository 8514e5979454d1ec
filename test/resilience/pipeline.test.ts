import { describe, expect, it, vi } from 'vitest';
import { isAbortedError, ManualClock } from '../../src/core/index.js';
import {
  bulkhead,
  CircuitBreaker,
  fallback,
  isCircuitOpenError,
  isRateLimitedError,
  isRetryExhaustedError,
  isTimeoutError,
  type PolicyFn,
  pipeline,
  RateLimiter,
  type ResiliencePolicy,
  retry,
  timeout,
} from '../../src/resilience/index.js';
import { hang, settle } from './helpers.js';

/** A policy written outside the block: records when it enters and leaves. */
function tracer(name: string, log: string[]): ResiliencePolicy {
  return {
    async execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
      log.push(`${name}>`);
      try {
        return await fn({ signal: signal ?? new AbortController().signal, attempt: 1 });
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

describe('fallback', () => {
  it('answers failures with a value or a handler of the error', async () => {
    expect(await fallback('pending').execute(() => Promise.reject(new Error('x')))).toBe('pending');
    expect(
      await fallback((e) => `degraded: ${(e as Error).message}`).execute(() => Promise.reject(new Error('x'))),
    ).toBe('degraded: x');
    expect(await fallback('unused').execute(() => 'ok')).toBe('ok');
  });

  it('answers only the errors `when` accepts', async () => {
    const policy = fallback(0, { when: (e) => e instanceof RangeError });
    expect(await policy.execute(() => Promise.reject(new RangeError('r')))).toBe(0);
    await expect(policy.execute(() => Promise.reject(new TypeError('t')))).rejects.toThrow('t');
  });

  it('does not answer a call its caller aborted', async () => {
    const controller = new AbortController();
    const result = settle(fallback('fb').execute(hang, controller.signal));
    controller.abort();
    expect(isAbortedError(((await result) as { error: unknown }).error)).toBe(true);
  });

  it('emits onFallback and propagates a failing handler', async () => {
    const policy = fallback(() => {
      throw new Error('no cache either');
    });
    const seen = vi.fn();
    policy.onFallback(seen);
    await expect(policy.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('no cache either');
    expect(seen).toHaveBeenCalledTimes(1);
  });
});

describe('pipeline', () => {
  it('applies policies in the order written, the first outermost', async () => {
    const log: string[] = [];
    const p = pipeline(tracer('a', log), tracer('b', log), tracer('c', log));
    expect(await p.execute(() => log.push('fn'))).toBe(4);
    expect(log).toEqual(['a>', 'b>', 'c>', 'fn', '<c', '<b', '<a']);
  });

  it('attempt counts the calls of fn across an inner retry', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const p = pipeline(
      retry({ maxAttempts: 3, backoff: { initial: 10, jitter: 'none' }, clock }),
      timeout(100, { clock }),
    );
    const result = p.execute(({ attempt }) => {
      seen.push(attempt);
      if (attempt < 3) throw new Error('again');
      return 'done';
    });
    await clock.advanceAsync(100);
    expect(await result).toBe('done');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('retry outside timeout: each attempt gets its own limit', async () => {
    const clock = new ManualClock();
    const signals: AbortSignal[] = [];
    const p = pipeline(
      retry({ maxAttempts: 2, backoff: { initial: 5, jitter: 'none' }, clock }),
      timeout(50, { clock }),
    );
    const result = settle(
      p.execute((ctx) => {
        signals.push(ctx.signal);
        return hang(ctx);
      }),
    );
    await clock.advanceAsync(200);
    const error = ((await result) as { error: unknown }).error;
    expect(isRetryExhaustedError(error)).toBe(true);
    expect((error as { errors: unknown[] }).errors.every(isTimeoutError)).toBe(true);
    expect(signals).toHaveLength(2);
    expect(signals[0]).not.toBe(signals[1]);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });

  it('timeout outside retry bounds the whole operation and aborts the retries inside', async () => {
    const clock = new ManualClock();
    const attempts = vi.fn(() => Promise.reject(new Error('flaky')));
    const p = pipeline(
      timeout(250, { clock }),
      retry({ maxAttempts: 10, backoff: { initial: 100, jitter: 'none' }, clock }),
    );
    const result = settle(p.execute(attempts));
    await clock.advanceAsync(1_000);
    expect(isTimeoutError(((await result) as { error: unknown }).error)).toBe(true);
    expect(attempts).toHaveBeenCalledTimes(2); // at 0 and 100; the wait until 300 was cut short at 250
    expect(clock.pending).toBe(0);
  });

  it('recommended order: the open breaker stops retries at once and the fallback answers', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock, minimumCalls: 2, failureThreshold: 50, resetAfter: 10_000 });
    const gateway = vi.fn(() => Promise.reject(new Error('gateway 503')));
    const payments = pipeline(
      fallback({ status: 'pending' }),
      bulkhead({ concurrency: 4, maxQueue: 4 }),
      retry({ maxAttempts: 5, backoff: { initial: 100, jitter: 'none' }, clock }),
      breaker,
      timeout(1_000, { clock }),
    );
    const first = payments.execute(gateway);
    await clock.advanceAsync(1_000);
    expect(await first).toEqual({ status: 'pending' });
    expect(gateway).toHaveBeenCalledTimes(2); // the second failure tripped the breaker; retry #3 met CircuitOpenError
    expect(breaker.state).toBe('open');
    expect(await payments.execute(gateway)).toEqual({ status: 'pending' });
    expect(gateway).toHaveBeenCalledTimes(2);
  });

  it('a caller abort reaches the innermost call and is not answered by the fallback', async () => {
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const p = pipeline(fallback('fb'), retry(), new CircuitBreaker(), timeout(10_000));
    const result = settle(
      p.execute((ctx) => {
        inner = ctx.signal;
        return hang(ctx);
      }, controller.signal),
    );
    controller.abort();
    expect(isAbortedError(((await result) as { error: unknown }).error)).toBe(true);
    expect(inner?.aborted).toBe(true);
  });

  it('works with policies written elsewhere, passing the signal through', async () => {
    const log: string[] = [];
    const clock = new ManualClock();
    const p = pipeline(tracer('outer', log), timeout(20, { clock }), tracer('inner', log));
    const result = settle(p.execute(hang));
    await clock.advanceAsync(20);
    const outcome = await result;
    expect(isTimeoutError((outcome as { error: unknown }).error)).toBe(true);
    expect(log[0]).toBe('outer>');
  });

  it('a rate limiter sheds inside a pipeline and the fallback answers for it', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ capacity: 1, refillPerSecond: 1, clock });
    const p = pipeline(
      fallback((e) => (isRateLimitedError(e) ? 'try later' : 'other')),
      limiter,
    );
    expect(await p.execute(() => 'served')).toBe('served');
    expect(await p.execute(() => 'served')).toBe('try later');
    clock.advance(1_000);
    expect(await p.execute(() => 'served')).toBe('served');
  });

  it('a policy written elsewhere that throws synchronously makes execute reject, not throw', async () => {
    const broken: ResiliencePolicy = {
      execute() {
        throw new Error('broken policy');
      },
    };
    const clock = new ManualClock();
    const p = pipeline(timeout(100, { clock }), broken);
    await expect(p.execute(() => 1)).rejects.toThrow('broken policy');
    expect(clock.pending).toBe(0);
  });

  it('an empty pipeline just calls fn', async () => {
    expect(await pipeline().execute(({ attempt }) => attempt)).toBe(1);
  });

  it('pipelines nest, and wrap keeps parameters', async () => {
    const inner = pipeline(fallback(-1), new CircuitBreaker());
    const outer = pipeline(inner, retry({ maxAttempts: 1 }));
    const parse = outer.wrap((text: string) => {
      const n = Number(text);
      if (Number.isNaN(n)) throw new Error('nan');
      return n;
    });
    expect(await parse('12')).toBe(12);
    expect(await parse('x')).toBe(-1);
  });

  it('rejects entries that are not policies', () => {
    expect(() => pipeline(retry(), {} as never)).toThrow(expect.objectContaining({ argument: 'policies[1]' }));
  });

  it('an open breaker is reported to a fallback outside it', async () => {
    const breaker = new CircuitBreaker();
    breaker.isolate();
    const p = pipeline(
      fallback((e) => (isCircuitOpenError(e) ? 'cached' : 'other')),
      breaker,
    );
    expect(await p.execute(() => 'live')).toBe('cached');
  });
});
