import { afterEach, describe, expect, it, vi } from 'vitest';
import { isAbortedError, ManualClock } from '../../src/core/index.js';
import { isTimeoutError, TimeoutError, timeout } from '../../src/resilience/index.js';
import { hang, settle } from './helpers.js';

describe('timeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('rejects with TimeoutError at the limit and aborts the signal fn received', async () => {
    const clock = new ManualClock();
    const policy = timeout(250, { clock });
    let signal: AbortSignal | undefined;
    const result = settle(
      policy.execute((ctx) => {
        signal = ctx.signal;
        return hang(ctx);
      }),
    );
    await clock.advanceAsync(249);
    expect(signal?.aborted).toBe(false);
    await clock.advanceAsync(1);
    const error = ((await result) as { error: unknown }).error;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(isTimeoutError(error)).toBe(true);
    expect(error).toMatchObject({ timeoutMs: 250, message: 'Timed out after 250 ms' });
    expect(signal?.reason).toBe(error);
  });

  it('rejects at the limit even when fn ignores its signal', async () => {
    const clock = new ManualClock();
    const result = settle(timeout(10, { clock }).execute(() => new Promise(() => {})));
    await clock.advanceAsync(10);
    expect(isTimeoutError(((await result) as { error: unknown }).error)).toBe(true);
  });

  it('a call that settles first keeps its value and releases its timer', async () => {
    const clock = new ManualClock();
    const policy = timeout(1_000, { clock });
    expect(await policy.execute(async () => 'fast')).toBe('fast');
    await expect(policy.execute(() => Promise.reject(new Error('own error')))).rejects.toThrow('own error');
    expect(clock.pending).toBe(0);
  });

  it('concurrent calls time out independently', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock });
    const signals: AbortSignal[] = [];
    const slow = settle(
      policy.execute((ctx) => {
        signals.push(ctx.signal);
        return hang(ctx);
      }),
    );
    await clock.advanceAsync(50);
    const later = settle(
      policy.execute((ctx) => {
        signals.push(ctx.signal);
        return hang(ctx);
      }),
    );
    await clock.advanceAsync(50);
    expect((await slow).ok).toBe(false);
    expect(signals.map((s) => s.aborted)).toEqual([true, false]);
    await clock.advanceAsync(50);
    expect((await later).ok).toBe(false);
  });

  it('the caller signal aborts the call at once, with its reason, and releases the timer', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const result = settle(
      timeout(1_000, { clock }).execute((ctx) => {
        inner = ctx.signal;
        return hang(ctx);
      }, controller.signal),
    );
    controller.abort();
    const error = ((await result) as { error: unknown }).error;
    expect(isAbortedError(error)).toBe(true);
    expect(inner?.aborted).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('emits onTimeout', async () => {
    const clock = new ManualClock();
    const policy = timeout(5, { clock });
    const seen = vi.fn();
    policy.onTimeout(seen);
    const result = settle(policy.execute(() => new Promise(() => {})));
    await clock.advanceAsync(5);
    await result;
    expect(seen).toHaveBeenCalledWith({ timeoutMs: 5 });
  });

  it('runs on fake timers with the system clock and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const policy = timeout(100);
    const done = policy.execute(async () => 'ok');
    expect(await done).toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
    const result = settle(policy.execute(() => new Promise(() => {})));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(isTimeoutError(((await result) as { error: unknown }).error)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects a bad limit', () => {
    expect(() => timeout(0)).toThrow(expect.objectContaining({ argument: 'ms' }));
    expect(() => timeout(Number.NaN)).toThrow(expect.objectContaining({ argument: 'ms' }));
  });
});
