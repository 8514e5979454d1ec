/**
 * The calls of one timeout policy share one timer, set for the earliest deadline. These tests pin that
 * sharing changes nothing a caller sees: every call times out at its own deadline, never earlier and not
 * later, a call that settles first keeps its result, and no timer outlives the calls but as documented.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Clock, ManualClock } from '../../src/core/index.js';
import { CircuitBreaker, isTimeoutError, timeout } from '../../src/resilience/index.js';
import { deferred, hang, settle } from './helpers.js';

describe('timeout: one timer per policy', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('concurrent calls hold one timer, and each times out at its own deadline', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock });
    const rejectedAt = new Map<string, number>();
    const start = (name: string, work: () => Promise<unknown>): Promise<unknown> =>
      policy.execute(work).catch((error: unknown) => {
        if (isTimeoutError(error)) rejectedAt.set(name, clock.now());
        throw error;
      });
    const a = settle(start('a', () => new Promise(() => {})));
    await clock.advanceAsync(30);
    const bWork = deferred<string>();
    const b = start('b', () => bWork.promise);
    await clock.advanceAsync(30);
    const c = settle(start('c', () => new Promise(() => {})));
    expect(clock.pending).toBe(1);
    await clock.advanceAsync(20); // t = 80
    bWork.resolve('b in time');
    expect(await b).toBe('b in time');
    await clock.advanceAsync(20); // t = 100: a is due
    expect((await a).ok).toBe(false);
    expect(rejectedAt.get('a')).toBe(100);
    expect(clock.pending).toBe(1); // now set for c
    await clock.advanceAsync(59); // t = 159
    expect(rejectedAt.has('c')).toBe(false);
    await clock.advanceAsync(1); // t = 160
    expect((await c).ok).toBe(false);
    expect(rejectedAt.get('c')).toBe(160);
    expect(rejectedAt.has('b')).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('every call times out exactly at start + ms unless it settled first (random schedules)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 30 }), work: fc.integer({ min: 0, max: 80 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (ms, plan) => {
          const clock = new ManualClock();
          const policy = timeout(ms, { clock });
          const outcomes: Promise<{ i: number; ok: boolean; at: number; aborted: boolean }>[] = [];
          const startedAt: number[] = [];
          for (const [i, step] of plan.entries()) {
            await clock.advanceAsync(step.gap);
            startedAt.push(clock.now());
            let signal: AbortSignal | undefined;
            outcomes.push(
              policy
                .execute(async (ctx) => {
                  signal = ctx.signal;
                  await clock.sleep(step.work);
                  return i;
                })
                .then(
                  () => ({ i, ok: true, at: clock.now(), aborted: signal?.aborted ?? false }),
                  (error: unknown) => {
                    if (!isTimeoutError(error)) throw error;
                    return { i, ok: false, at: clock.now(), aborted: signal?.aborted ?? false };
                  },
                ),
            );
            expect(clock.pending).toBeLessThanOrEqual(i + 2); // the work of each call, and one timer
          }
          await clock.advanceAsync(200);
          for (const outcome of await Promise.all(outcomes)) {
            const step = plan[outcome.i];
            const start = startedAt[outcome.i] as number;
            if (step === undefined) throw new Error('no step');
            if (step.work < ms) {
              expect(outcome).toMatchObject({ ok: true, aborted: false, at: start + step.work });
            } else if (step.work > ms) {
              expect(outcome).toMatchObject({ ok: false, aborted: true, at: start + ms });
            }
          }
          expect(clock.pending).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a call started by an abort listener while the timer fires gets its own deadline and no second timer', async () => {
    const clock = new ManualClock();
    const policy = timeout(50, { clock });
    let second: Promise<unknown> | undefined;
    const first = settle(
      policy.execute((ctx) => {
        ctx.signal.addEventListener('abort', () => {
          second = settle(policy.execute(hang));
        });
        return hang(ctx);
      }),
    );
    await clock.advanceAsync(50);
    expect((await first).ok).toBe(false);
    expect(second).toBeDefined();
    expect(clock.pending).toBe(1);
    await clock.advanceAsync(49);
    expect(clock.pending).toBe(1);
    await clock.advanceAsync(1);
    expect(((await second) as { ok: boolean }).ok).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('a clock that goes back still times every call out, none before its own deadline', async () => {
    const manual = new ManualClock(1_000);
    let offset = 0;
    const clock: Clock = { now: () => manual.now() + offset, sleep: (ms, signal) => manual.sleep(ms, signal) };
    const policy = timeout(100, { clock });
    const rejectedAt: Record<string, number> = {};
    const track = (name: string, p: Promise<unknown>): Promise<unknown> =>
      settle(
        p.catch((error: unknown) => {
          rejectedAt[name] = clock.now();
          throw error;
        }),
      );
    const a = track('a', policy.execute(hang)); // deadline 1 100 on the clock
    offset = -80; // the clock goes back 80 ms
    const b = track('b', policy.execute(hang)); // starts at 920: deadline 1 020, before a's
    await manual.advanceAsync(100);
    expect(rejectedAt).toEqual({ b: 1_020 });
    await manual.advanceAsync(80);
    expect(rejectedAt).toEqual({ b: 1_020, a: 1_100 });
    await Promise.all([a, b]);
    expect(manual.pending).toBe(0);
  });

  it('on the system clock, back-to-back calls keep the one timer until it fires; a lone call leaves none', async () => {
    vi.useFakeTimers();
    const policy = timeout(100);
    expect(await policy.execute(() => 'lone')).toBe('lone');
    expect(vi.getTimerCount()).toBe(0);
    for (let i = 0; i < 5; i++) expect(await policy.execute(() => i)).toBe(i);
    expect(vi.getTimerCount()).toBe(1); // kept for the next call, unref'd
    await vi.advanceTimersByTimeAsync(100);
    expect(vi.getTimerCount()).toBe(0); // it fired, found nothing running, and stopped
    expect(await policy.execute(() => 'after a pause')).toBe('after a pause');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('on the system clock, a kept timer set for an earlier call still times a later one out on time', async () => {
    vi.useFakeTimers();
    const policy = timeout(100);
    const t0 = performance.now();
    await policy.execute(() => 'first');
    await policy.execute(() => 'second'); // back to back: the timer is kept, set for t0 + 100
    await vi.advanceTimersByTimeAsync(40);
    let rejectedAfter: number | undefined;
    const late = settle(
      policy.execute(hang).catch((error: unknown) => {
        rejectedAfter = performance.now() - t0;
        throw error;
      }),
    );
    await vi.advanceTimersByTimeAsync(60); // t0 + 100: the kept timer fires, the call is not due
    expect(rejectedAfter).toBeUndefined();
    await vi.advanceTimersByTimeAsync(39);
    expect(rejectedAfter).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1); // t0 + 140 = its start + 100
    expect(isTimeoutError(((await late) as { error: unknown }).error)).toBe(true);
    expect(rejectedAfter).toBe(140);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a breaker's per-call timeout shares one timer the same way", async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, timeout: 100, minimumCalls: 100 });
    const calls = [settle(b.execute(hang)), settle(b.execute(hang)), settle(b.execute(hang))];
    expect(clock.pending).toBe(1);
    await clock.advanceAsync(100);
    for (const outcome of await Promise.all(calls)) {
      expect(isTimeoutError((outcome as { error: unknown }).error)).toBe(true);
    }
    expect(b.stats().window).toMatchObject({ calls: 3, failures: 3 });
    expect(clock.pending).toBe(0);
    b.dispose();
  });
});
