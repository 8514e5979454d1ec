import { afterEach, describe, expect, it, vi } from 'vitest';
import { isAbortedError, isValidationError, ManualClock } from '../../src/core/index.js';
import {
  BulkheadRejectedError,
  bulkhead,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  isCircuitOpenError,
  isTimeoutError,
  pipeline,
  RateLimitedError,
  TimeoutError,
} from '../../src/resilience/index.js';
import { boom, deferred, hang, settle } from './helpers.js';

function breaker<F = never>(options: CircuitBreakerOptions<F> = {}): { b: CircuitBreaker<F>; clock: ManualClock } {
  const clock = new ManualClock();
  const b = new CircuitBreaker<F>({ clock, minimumCalls: 2, resetAfter: 1_000, ...options });
  return { b, clock };
}

async function failTimes(b: CircuitBreaker<unknown>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await settle(b.execute(() => boom()));
}

async function succeedTimes(b: CircuitBreaker<unknown>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await b.execute(() => 'ok');
}

describe('CircuitBreaker: closed → open', () => {
  it('trips only when the failure rate is strictly above the threshold', async () => {
    const { b } = breaker({ failureThreshold: 50, minimumCalls: 4 });
    await succeedTimes(b, 2);
    await failTimes(b, 2); // 2 / 4 = 50 %: not above 50
    expect(b.state).toBe('closed');
    expect(b.stats().window).toEqual({ calls: 4, successes: 2, failures: 2, failureRate: 50 });
    await failTimes(b, 1); // 3 / 5 = 60 %
    expect(b.state).toBe('open');
  });

  it('needs minimumCalls in the window before it can trip', async () => {
    const { b } = breaker({ failureThreshold: 0, minimumCalls: 4 });
    await failTimes(b, 3);
    expect(b.state).toBe('closed');
    await failTimes(b, 1);
    expect(b.state).toBe('open');
  });

  it('a failure threshold of 100 never trips on the rate', async () => {
    const { b } = breaker({ failureThreshold: 100, minimumCalls: 1 });
    await failTimes(b, 20);
    expect(b.state).toBe('closed');
  });

  it('emits onOpen with the window that tripped it', async () => {
    const { b } = breaker({ failureThreshold: 50, minimumCalls: 2, resetAfter: 750 });
    const events: unknown[] = [];
    b.onOpen((e) => events.push(e));
    await failTimes(b, 2);
    expect(events).toEqual([
      {
        name: 'circuit',
        reason: 'failureRate',
        openForMs: 750,
        consecutiveOpens: 1,
        window: { calls: 2, successes: 0, failures: 2, failureRate: 100 },
      },
    ]);
  });

  it('old outcomes age out of the rolling window bucket by bucket', async () => {
    const { b, clock } = breaker({ window: 1_000, buckets: 10, minimumCalls: 2, failureThreshold: 50 });
    await failTimes(b, 1);
    clock.advance(999);
    expect(b.stats().window.calls).toBe(1);
    clock.advance(1);
    expect(b.stats().window.calls).toBe(0); // 1 000 ms later the bucket has rotated out
    await failTimes(b, 1);
    expect(b.state).toBe('closed'); // one call in the window: below minimumCalls
    clock.advance(500);
    await failTimes(b, 1);
    expect(b.state).toBe('open');
  });

  it('a long idle period clears the whole window at once', async () => {
    const { b, clock } = breaker({ window: 100, buckets: 4, failureThreshold: 90, minimumCalls: 1 });
    await succeedTimes(b, 3);
    clock.advance(1e9);
    expect(b.stats().window).toEqual({ calls: 0, successes: 0, failures: 0, failureRate: 0 });
  });
});

describe('CircuitBreaker: open, half-open, probe', () => {
  it('fails fast while open without calling fn, with retryAfterMs on the clock', async () => {
    const { b, clock } = breaker({ resetAfter: 1_000, name: 'gateway' });
    await failTimes(b, 2);
    const fn = vi.fn(() => 'ok');
    const rejects: unknown[] = [];
    b.onReject((e) => rejects.push(e.error));
    clock.advance(400);
    const outcome = await settle(b.execute(fn));
    expect(fn).not.toHaveBeenCalled();
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(isCircuitOpenError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_CIRCUIT_OPEN', breaker: 'gateway', reason: 'open', retryAfterMs: 600 });
    expect(rejects).toEqual([error]);
    expect(b.stats()).toMatchObject({ state: 'open', retryAfterMs: 600, rejections: 1, consecutiveOpens: 1 });
  });

  it('half-opens lazily once resetAfter has elapsed, emitting onHalfOpen once', async () => {
    const { b, clock } = breaker({ resetAfter: 1_000 });
    const events: unknown[] = [];
    b.onHalfOpen((e) => events.push(e));
    await failTimes(b, 2);
    clock.advance(999);
    expect(b.state).toBe('open');
    clock.advance(1);
    expect(b.state).toBe('halfOpen');
    expect(b.state).toBe('halfOpen');
    expect(events).toEqual([{ name: 'circuit', openedForMs: 1_000 }]);
  });

  it('admits exactly one probe and rejects the others until it settles', async () => {
    const { b, clock } = breaker();
    await failTimes(b, 2);
    clock.advance(1_000);
    const probe = deferred<string>();
    const calls = vi.fn(() => probe.promise);
    const first = b.execute(calls);
    const others = await Promise.all([settle(b.execute(calls)), settle(b.execute(calls))]);
    expect(calls).toHaveBeenCalledTimes(1);
    for (const o of others) expect(o).toMatchObject({ ok: false, error: { reason: 'probeInFlight' } });
    probe.resolve('recovered');
    expect(await first).toBe('recovered');
    expect(b.state).toBe('closed');
    expect(b.stats()).toMatchObject({ consecutiveOpens: 0, window: { calls: 0 } });
  });

  it('a failed probe re-opens for longer each time, up to the cap; a close resets the growth', async () => {
    const { b, clock } = breaker({ resetAfter: { initial: 1_000, max: 3_000, multiplier: 2 } });
    const periods: (number | undefined)[] = [];
    b.onOpen((e) => periods.push(e.openForMs));
    await failTimes(b, 2);
    for (let i = 0; i < 3; i++) {
      clock.advance(b.stats().retryAfterMs ?? 0);
      expect(b.state).toBe('halfOpen');
      await failTimes(b, 1);
      expect(b.state).toBe('open');
    }
    expect(periods).toEqual([1_000, 2_000, 3_000, 3_000]);
    expect(b.stats().consecutiveOpens).toBe(4);
    clock.advance(3_000);
    await succeedTimes(b, 1);
    expect(b.state).toBe('closed');
    await failTimes(b, 2);
    expect(periods.at(-1)).toBe(1_000);
  });

  it('closing starts a fresh window, so old failures cannot re-trip it', async () => {
    const { b, clock } = breaker({ minimumCalls: 4, failureThreshold: 50 });
    await failTimes(b, 4);
    clock.advance(1_000);
    await succeedTimes(b, 1);
    expect(b.state).toBe('closed');
    await failTimes(b, 1);
    expect(b.state).toBe('closed');
    expect(b.stats().window).toMatchObject({ calls: 1, failures: 1 });
  });

  it('a probe refused by a bulkhead or aborted by its caller leaves the breaker half-open', async () => {
    const { b, clock } = breaker();
    await failTimes(b, 2);
    clock.advance(1_000);
    await settle(b.execute(() => Promise.reject(new BulkheadRejectedError({ concurrency: 1, maxQueue: 0 }))));
    expect(b.state).toBe('halfOpen');
    const controller = new AbortController();
    const aborted = settle(b.execute(hang, controller.signal));
    controller.abort();
    expect(isAbortedError(((await aborted) as { error: unknown }).error)).toBe(true);
    expect(b.state).toBe('halfOpen');
    await succeedTimes(b, 1);
    expect(b.state).toBe('closed');
  });

  it('a probe failing with an error isFailure rejects closes the breaker (the dependency answered)', async () => {
    const { b, clock } = breaker({ isFailure: (e) => !(e instanceof RangeError) });
    await failTimes(b, 2);
    clock.advance(1_000);
    await settle(b.execute(() => Promise.reject(new RangeError('404'))));
    expect(b.state).toBe('closed');
  });
});

describe('CircuitBreaker: timeouts', () => {
  it('each call gets its own timeout and AbortController: one timeout aborts only its own call', async () => {
    const { b, clock } = breaker({ timeout: 200, minimumCalls: 100 });
    const signals: AbortSignal[] = [];
    const slow = settle(
      b.execute((ctx) => {
        signals.push(ctx.signal);
        return hang(ctx);
      }),
    );
    const fast = b.execute(async (ctx) => {
      signals.push(ctx.signal);
      await clock.sleep(100);
      return 'fast';
    });
    await clock.advanceAsync(100);
    expect(await fast).toBe('fast');
    await clock.advanceAsync(100);
    const outcome = await slow;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(isTimeoutError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_TIMEOUT', timeoutMs: 200 });
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBe(error);
    expect(signals[1]?.aborted).toBe(false);
    expect(clock.pending).toBe(0); // every timer released
  });

  it('timeouts count as failures and emit onTimeout and onFailure', async () => {
    const { b, clock } = breaker({ timeout: 50, minimumCalls: 1, failureThreshold: 0 });
    const timeouts: unknown[] = [];
    const failures: unknown[] = [];
    b.onTimeout((e) => timeouts.push(e));
    b.onFailure((e) => failures.push(e));
    const call = settle(b.execute(() => new Promise(() => {})));
    await clock.advanceAsync(50);
    await call;
    expect(b.state).toBe('open');
    expect(timeouts).toEqual([{ name: 'circuit', timeoutMs: 50 }]);
    expect(failures).toHaveLength(1);
    expect((failures[0] as { error: unknown }).error).toBeInstanceOf(TimeoutError);
  });

  it('a call that settles in time clears its timer', async () => {
    const { b, clock } = breaker({ timeout: 1_000 });
    await b.execute(() => 1);
    expect(clock.pending).toBe(0);
  });
});

describe('CircuitBreaker: late results after a state change', () => {
  it('a success that arrives while open does not close the breaker', async () => {
    const { b } = breaker({ minimumCalls: 2 });
    const slow = deferred<string>();
    const late = b.execute(() => slow.promise);
    await failTimes(b, 2);
    expect(b.state).toBe('open');
    slow.resolve('late');
    expect(await late).toBe('late');
    expect(b.state).toBe('open');
  });

  it('a failure from before the close does not count in the new window or re-open it', async () => {
    const { b, clock } = breaker({ minimumCalls: 0, failureThreshold: 0 });
    const slow = deferred<string>();
    const late = settle(b.execute(() => slow.promise));
    await failTimes(b, 1);
    expect(b.state).toBe('open');
    clock.advance(1_000);
    await succeedTimes(b, 1);
    expect(b.state).toBe('closed');
    slow.reject(new Error('late failure'));
    expect((await late).ok).toBe(false);
    expect(b.state).toBe('closed');
    expect(b.stats().window).toEqual({ calls: 0, successes: 0, failures: 0, failureRate: 0 });
  });

  it('a probe that settles after reset() or isolate() changes nothing', async () => {
    const { b, clock } = breaker();
    await failTimes(b, 2);
    clock.advance(1_000);
    const probe = deferred<string>();
    const pending = settle(b.execute(() => probe.promise));
    b.reset();
    probe.reject(new Error('probe failed late'));
    await pending;
    expect(b.state).toBe('closed');

    await failTimes(b, 2);
    clock.advance(1_000);
    const probe2 = deferred<string>();
    const pending2 = b.execute(() => probe2.promise);
    b.isolate();
    probe2.resolve('ok');
    await pending2;
    expect(b.state).toBe('open');
    expect(b.isolated).toBe(true);
  });
});

describe('CircuitBreaker: what is not a failure', () => {
  it('capacity rejections (bulkhead, rate limit) are not counted as failures', async () => {
    const { b } = breaker({ minimumCalls: 1, failureThreshold: 0 });
    for (let i = 0; i < 5; i++) {
      await settle(b.execute(() => Promise.reject(new BulkheadRejectedError({ concurrency: 1, maxQueue: 0 }))));
      await settle(b.execute(() => Promise.reject(new RateLimitedError({ requested: 1, retryAfterMs: 10 }))));
    }
    expect(b.state).toBe('closed');
    expect(b.stats().window.failures).toBe(0);
  });

  it('a bulkhead inside the breaker sheds load without tripping it', async () => {
    const { b } = breaker({ minimumCalls: 1, failureThreshold: 0 });
    const gate = deferred();
    const guarded = pipeline(b, bulkhead({ concurrency: 1, maxQueue: 0 }));
    const running = guarded.execute(() => gate.promise);
    const shed = await Promise.all(Array.from({ length: 5 }, () => settle(guarded.execute(() => 'x'))));
    expect(shed.every((o) => !o.ok)).toBe(true);
    gate.resolve();
    await running;
    expect(b.state).toBe('closed');
  });

  it('a call the caller aborts rejects at once with the reason and is not a failure', async () => {
    const { b } = breaker({ minimumCalls: 1, failureThreshold: 0 });
    const controller = new AbortController();
    const call = settle(b.execute(() => new Promise(() => {}), controller.signal));
    controller.abort(new Error('user left'));
    expect(await call).toMatchObject({ ok: false, error: { message: 'user left' } });
    expect(b.state).toBe('closed');
    expect(b.stats().window.failures).toBe(0);
  });

  it('an already-aborted signal rejects without calling fn', async () => {
    const { b } = breaker();
    const fn = vi.fn(() => 1);
    const outcome = await settle(b.execute(fn, AbortSignal.abort()));
    expect(fn).not.toHaveBeenCalled();
    expect(isAbortedError((outcome as { error: unknown }).error)).toBe(true);
  });

  it('isFailure decides which errors count; the others reach the caller without tripping', async () => {
    const { b } = breaker({ minimumCalls: 1, failureThreshold: 0, isFailure: (e) => !(e instanceof RangeError) });
    const outcome = await settle(b.execute(() => Promise.reject(new RangeError('not found'))));
    expect(outcome.ok).toBe(false);
    expect(b.state).toBe('closed');
    expect(b.stats().window).toMatchObject({ failures: 0, successes: 1 });
  });
});

describe('CircuitBreaker: fallback and events', () => {
  it('answers refused and failed calls with the fallback, not errors isFailure rejects', async () => {
    const { b } = breaker({
      fallback: (error) => (isCircuitOpenError(error) ? 'refused' : 'failed'),
      isFailure: (e) => !(e instanceof RangeError),
    });
    expect(await b.execute(() => boom())).toBe('failed');
    expect(await b.execute(() => boom())).toBe('failed');
    expect(b.state).toBe('open');
    expect(await b.execute(() => 'never')).toBe('refused');
    b.reset();
    await expect(b.execute(() => Promise.reject(new RangeError('404')))).rejects.toThrow('404');
  });

  it('onSuccess and onFailure carry durations on the breaker clock; dispose handles stop them', async () => {
    const { b, clock } = breaker({ minimumCalls: 10 });
    const seen: string[] = [];
    const s = b.onSuccess((e) => seen.push(`ok ${e.durationMs}`));
    b.onFailure((e) => seen.push(`fail ${e.durationMs} ${(e.error as Error).message}`));
    const call = b.execute(async () => {
      await clock.sleep(30);
      return 1;
    });
    await clock.advanceAsync(30);
    await call;
    await failTimes(b, 1);
    s.dispose();
    await succeedTimes(b, 1);
    expect(seen).toEqual(['ok 30', 'fail 0 boom']);
  });

  it('fn may return a plain value, undefined, or throw synchronously', async () => {
    const { b } = breaker({ minimumCalls: 100 });
    expect(await b.execute(() => 7)).toBe(7);
    expect(await b.execute(() => undefined)).toBeUndefined();
    await expect(
      b.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(b.stats().window).toMatchObject({ calls: 3, successes: 2, failures: 1 });
  });

  it('passes attempt 1 and a live signal to fn', async () => {
    const { b } = breaker();
    const seen = await b.execute(({ attempt, signal }) => ({ attempt, aborted: signal.aborted }));
    expect(seen).toEqual({ attempt: 1, aborted: false });
  });

  it('wrap gives a function with the same parameters', async () => {
    const { b } = breaker({ fallback: () => null });
    const lookup = b.wrap(async (sku: string, qty: number) => `${sku}×${qty}`);
    expect(await lookup('A', 2)).toBe('A×2');
  });
});

describe('CircuitBreaker: isolate, reset, dispose', () => {
  it('isolate holds it open with no probe until reset', async () => {
    const { b, clock } = breaker();
    const events: string[] = [];
    b.onOpen((e) => events.push(`open:${e.reason}`));
    b.onClose((e) => events.push(`close:${e.reason}`));
    b.isolate();
    b.isolate();
    clock.advance(1e7);
    expect(b.state).toBe('open');
    expect(await settle(b.execute(() => 1))).toMatchObject({ ok: false, error: { reason: 'isolated' } });
    expect(b.stats()).toMatchObject({ isolated: true, retryAfterMs: undefined });
    b.reset();
    expect(b.state).toBe('closed');
    expect(await b.execute(() => 1)).toBe(1);
    expect(events).toEqual(['open:isolated', 'close:reset']);
  });

  it('reset while closed clears the window without an event', async () => {
    const { b } = breaker({ minimumCalls: 10 });
    const closes = vi.fn();
    b.onClose(closes);
    await failTimes(b, 3);
    b.reset();
    expect(b.stats().window.calls).toBe(0);
    expect(closes).not.toHaveBeenCalled();
  });

  it('dispose refuses further calls (no fallback) and removes listeners', async () => {
    const { b } = breaker({ fallback: () => 'fb' });
    const rejects = vi.fn();
    b.onReject(rejects);
    b.dispose();
    b.dispose();
    b.reset();
    b.isolate();
    expect(await settle(b.execute(() => 1))).toMatchObject({ ok: false, error: { reason: 'disposed' } });
    expect(rejects).not.toHaveBeenCalled();
  });
});

describe('CircuitBreaker: timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs on vitest fake timers with the system clock and leaves no timer behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const b = new CircuitBreaker({ minimumCalls: 1, failureThreshold: 0, resetAfter: 5_000, timeout: 100 });
    const timedOut = settle(b.execute(() => new Promise(() => {})));
    expect(vi.getTimerCount()).toBe(2); // the call's own timeout, and the bucket rotation timer
    await vi.advanceTimersByTimeAsync(100);
    expect(isTimeoutError(((await timedOut) as { error: unknown }).error)).toBe(true);
    expect(b.state).toBe('open');
    expect(vi.getTimerCount()).toBe(0); // opossum's reset timer and the rotation timer are gone
    await vi.advanceTimersByTimeAsync(5_000);
    expect(b.state).toBe('halfOpen');
    expect(await b.execute(() => 'up')).toBe('up');
    expect(b.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
    b.dispose();
  });

  it('on the system clock, buckets rotate on a timer that runs only while calls come in', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const b = new CircuitBreaker({ window: 1_000, buckets: 4, minimumCalls: 100 });
    await b.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    await b.execute(() => 'ok');
    expect(b.stats().window).toMatchObject({ calls: 2, failures: 1 });
    await vi.advanceTimersByTimeAsync(500); // the failure's bucket has rotated out
    expect(b.stats().window).toMatchObject({ calls: 1, failures: 0 });
    await vi.advanceTimersByTimeAsync(1_500); // a quiet window: the timer stops
    expect(vi.getTimerCount()).toBe(0);
    expect(b.stats().window.calls).toBe(0);
    await b.execute(() => 'ok');
    expect(vi.getTimerCount()).toBe(1);
    b.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('calls land in the right bucket between timer ticks, so old failures cannot trip it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const b = new CircuitBreaker({ window: 1_000, buckets: 4, minimumCalls: 2, failureThreshold: 50 });
    await b.execute(() => Promise.reject(new Error('old'))).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(1_000);
    await b.execute(() => Promise.reject(new Error('new'))).catch(() => undefined);
    expect(b.state).toBe('closed'); // without rotation the window would hold 2 failures out of 2
    await b.execute(() => Promise.reject(new Error('new'))).catch(() => undefined);
    expect(b.state).toBe('open');
    b.dispose();
  });
});

describe('CircuitBreaker: toJSON and restore', () => {
  async function restoredFrom(b: CircuitBreaker, clock: ManualClock): Promise<CircuitBreaker> {
    const json = JSON.parse(JSON.stringify(b.toJSON())) as CircuitBreakerSnapshot;
    return new CircuitBreaker({
      clock,
      minimumCalls: 2,
      resetAfter: { initial: 1_000, max: 8_000 },
      initialState: json,
    });
  }

  it('round-trips every state', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, minimumCalls: 2, resetAfter: { initial: 1_000, max: 8_000 } });
    await succeedTimes(b, 1);
    await failTimes(b, 1);
    let r = await restoredFrom(b, clock);
    expect(r.toJSON()).toEqual({ version: 1, state: 'closed', window: { calls: 2, successes: 1, failures: 1 } });
    await failTimes(r, 1); // 2 / 3 failures after restore: trips, as the original would
    expect(r.state).toBe('open');

    await failTimes(b, 1);
    clock.advance(300);
    r = await restoredFrom(b, clock);
    expect(r.toJSON()).toEqual({ version: 1, state: 'open', isolated: false, consecutiveOpens: 1, remainingMs: 700 });
    clock.advance(700);
    expect(r.state).toBe('halfOpen');
    await failTimes(r, 1);
    expect(r.stats()).toMatchObject({ state: 'open', retryAfterMs: 2_000, consecutiveOpens: 2 });

    expect(b.state).toBe('halfOpen');
    r = await restoredFrom(b, clock);
    expect(r.toJSON()).toEqual({ version: 1, state: 'halfOpen', consecutiveOpens: 1 });
    await succeedTimes(r, 1);
    expect(r.state).toBe('closed');

    b.isolate();
    r = await restoredFrom(b, clock);
    expect(r.toJSON()).toEqual({ version: 1, state: 'open', isolated: true, consecutiveOpens: 1 });
    expect(r.isolated).toBe(true);
  });

  it('rejects malformed snapshots, naming the field', () => {
    const bad: unknown[] = [
      null,
      { version: 2, state: 'closed', window: { calls: 0, successes: 0, failures: 0 } },
      { version: 1, state: 'ajar' },
      { version: 1, state: 'closed', window: { calls: 1, successes: 1, failures: 1 } },
      { version: 1, state: 'open', isolated: false, consecutiveOpens: 0, remainingMs: 5 },
      { version: 1, state: 'open', isolated: false, consecutiveOpens: 1, remainingMs: -1 },
      { version: 1, state: 'open', isolated: 'no', consecutiveOpens: 1 },
      { version: 1, state: 'halfOpen', consecutiveOpens: 1.5 },
    ];
    for (const snapshot of bad) {
      let caught: unknown;
      try {
        new CircuitBreaker({ initialState: snapshot as CircuitBreakerSnapshot });
      } catch (error: unknown) {
        caught = error;
      }
      expect(isValidationError(caught), JSON.stringify(snapshot)).toBe(true);
      expect((caught as { argument: string }).argument).toMatch(/^options\.initialState/);
    }
  });
});

describe('CircuitBreaker: options', () => {
  it('has documented defaults', () => {
    const b = new CircuitBreaker();
    expect([b.name, b.failureThreshold, b.minimumCalls, b.window, b.timeoutMs]).toEqual([
      'circuit',
      50,
      10,
      10_000,
      undefined,
    ]);
    expect(b.state).toBe('closed');
    b.dispose();
  });

  it.each([
    [{ failureThreshold: 101 }, 'options.failureThreshold'],
    [{ failureThreshold: -1 }, 'options.failureThreshold'],
    [{ minimumCalls: -1 }, 'options.minimumCalls'],
    [{ minimumCalls: 1.5 }, 'options.minimumCalls'],
    [{ window: 0 }, 'options.window'],
    [{ buckets: 0 }, 'options.buckets'],
    [{ buckets: 5_000 }, 'options.buckets'],
    [{ resetAfter: 0 }, 'options.resetAfter'],
    [{ resetAfter: { initial: 10, max: 5 } }, 'options.resetAfter.max'],
    [{ resetAfter: { initial: 10, max: 50, multiplier: 0.5 } }, 'options.resetAfter.multiplier'],
    [{ timeout: 0 }, 'options.timeout'],
    [{ name: '' }, 'options.name'],
    [{ isFailure: 'yes' }, 'options.isFailure'],
    [{ fallback: 42 }, 'options.fallback'],
    [{ clock: {} }, 'options.clock'],
  ])('rejects %o naming %s', (options, argument) => {
    expect(() => new CircuitBreaker(options as CircuitBreakerOptions)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_ARGUMENT', argument }),
    );
  });

  it('rejects a non-function fn and a non-signal', async () => {
    const b = new CircuitBreaker();
    await expect(b.execute(42 as never)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT', argument: 'fn' });
    await expect(b.execute(() => 1, {} as AbortSignal)).rejects.toMatchObject({ argument: 'signal' });
    expect(() => b.wrap('x' as never)).toThrow(expect.objectContaining({ argument: 'fn' }));
    b.dispose();
  });
});
