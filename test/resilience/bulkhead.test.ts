import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isAbortedError, ManualClock } from '../../src/core/index.js';
import {
  BulkheadRejectedError,
  bulkhead,
  isBulkheadRejectedError,
  pipeline,
  timeout,
} from '../../src/resilience/index.js';
import { deferred, flush, settle } from './helpers.js';

describe('bulkhead', () => {
  it('runs up to concurrency calls, queues up to maxQueue, sheds the rest at once', async () => {
    const b = bulkhead({ concurrency: 2, maxQueue: 1 });
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const calls = gates.map((g, i) =>
      b.execute(() => {
        started.push(i);
        return g.promise;
      }),
    );
    expect(started).toEqual([0, 1]);
    expect([b.active, b.queued]).toEqual([2, 1]);
    const rejects = vi.fn();
    b.onReject(rejects);
    const shed = await settle(b.execute(() => 'never'));
    expect(shed.ok).toBe(false);
    const error = (shed as { error: unknown }).error;
    expect(isBulkheadRejectedError(error)).toBe(true);
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(error).toMatchObject({ code: 'E_BULKHEAD_REJECTED', concurrency: 2, maxQueue: 1 });
    expect(rejects).toHaveBeenCalledWith({ active: 2, queued: 1 });
    gates[0]?.resolve();
    await calls[0];
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[1]?.resolve();
    gates[2]?.resolve();
    await Promise.all(calls);
    await b.onIdle();
    expect([b.active, b.queued]).toEqual([0, 0]);
  });

  it('maxQueue defaults to 0: pure load shedding', async () => {
    const b = bulkhead({ concurrency: 1 });
    const gate = deferred();
    const running = b.execute(() => gate.promise);
    await expect(b.execute(() => 1)).rejects.toMatchObject({ code: 'E_BULKHEAD_REJECTED' });
    gate.resolve();
    await running;
  });

  it('holds the slot until the real call settles, even when a timeout outside gave up on it', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ concurrency: 1, maxQueue: 0 });
    const guarded = pipeline(timeout(100, { clock }), b);
    const work = deferred<string>();
    const abandoned = settle(guarded.execute(() => work.promise));
    await clock.advanceAsync(100);
    expect((await abandoned).ok).toBe(false);
    expect(b.active).toBe(1);
    await expect(b.execute(() => 'x')).rejects.toMatchObject({ code: 'E_BULKHEAD_REJECTED' });
    work.resolve('finally');
    await flush();
    expect(b.active).toBe(0);
    expect(await b.execute(() => 'x')).toBe('x');
  });

  it('a running call whose caller aborts rejects at once but keeps its slot until it settles', async () => {
    const b = bulkhead({ concurrency: 1, maxQueue: 0 });
    const controller = new AbortController();
    const work = deferred();
    const call = settle(b.execute(() => work.promise, controller.signal));
    controller.abort();
    expect(isAbortedError(((await call) as { error: unknown }).error)).toBe(true);
    expect(b.active).toBe(1);
    work.resolve();
    await flush();
    expect(b.active).toBe(0);
  });

  it('a queued call whose caller aborts leaves the queue and never runs', async () => {
    const b = bulkhead({ concurrency: 1, maxQueue: 1 });
    const gate = deferred();
    const running = b.execute(() => gate.promise);
    const controller = new AbortController();
    const fn = vi.fn(() => 'late');
    const queued = settle(b.execute(fn, controller.signal));
    expect(b.queued).toBe(1);
    controller.abort();
    expect(isAbortedError(((await queued) as { error: unknown }).error)).toBe(true);
    expect(b.queued).toBe(0);
    const next = b.execute(() => 'took the freed place');
    expect(b.queued).toBe(1);
    gate.resolve();
    await running;
    expect(await next).toBe('took the freed place');
    await b.onIdle();
    expect(fn).not.toHaveBeenCalled();
  });

  it('a call with a signal that gets a free slot runs at once and completes', async () => {
    const b = bulkhead({ concurrency: 1, maxQueue: 1 });
    expect(await b.execute(() => 5, new AbortController().signal)).toBe(5);
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const second = b.execute(() => 6, new AbortController().signal);
    gate.resolve();
    await first;
    expect(await second).toBe(6);
  });

  it('runs queued calls in arrival order', async () => {
    const b = bulkhead({ concurrency: 1, maxQueue: 10 });
    const order: number[] = [];
    const gate = deferred();
    const calls = [b.execute(() => gate.promise)];
    for (let i = 0; i < 5; i++) {
      calls.push(
        b.execute(async () => {
          order.push(i);
        }),
      );
    }
    gate.resolve();
    await Promise.all(calls);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('never exceeds concurrency nor maxQueue, and rejects exactly when full (random interleavings)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
        async (s, concurrency, maxQueue, fails) => {
          const b = bulkhead({ concurrency, maxQueue });
          let running = 0;
          let maxRunning = 0;
          const violations: string[] = [];
          const calls = fails.map((fail, i) =>
            s.schedule(Promise.resolve(), `arrive ${i}`).then(() => {
              const full = b.active >= concurrency && b.queued >= maxQueue;
              return b
                .execute(async () => {
                  running++;
                  maxRunning = Math.max(maxRunning, running);
                  try {
                    await s.schedule(Promise.resolve(), `work ${i}`);
                    if (fail) throw new Error('fail');
                  } finally {
                    running--;
                  }
                })
                .then(
                  () => {
                    if (full) violations.push(`${i} ran although full`);
                  },
                  (error: unknown) => {
                    if (isBulkheadRejectedError(error) !== full) violations.push(`${i} shed=${!full}`);
                  },
                );
            }),
          );
          await s.waitFor(Promise.all(calls));
          expect(violations).toEqual([]);
          expect(maxRunning).toBeLessThanOrEqual(concurrency);
          await b.onIdle();
          expect([b.active, b.queued]).toEqual([0, 0]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects bad options', () => {
    expect(() => bulkhead({ concurrency: 0 })).toThrow(expect.objectContaining({ argument: 'options.concurrency' }));
    expect(() => bulkhead({ concurrency: 1, maxQueue: -1 })).toThrow(
      expect.objectContaining({ argument: 'options.maxQueue' }),
    );
    expect(() => bulkhead(undefined as never)).toThrow(expect.objectContaining({ argument: 'options' }));
  });
});
