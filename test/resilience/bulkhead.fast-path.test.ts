/**
 * The bulkhead's fast path: a call that finds a free slot and nobody waiting runs without p-queue, while
 * p-queue keeps the waiting line. These tests pin what users see either way: FIFO order, the concurrency
 * bound, the queue bound, and a slot held until the real call settles.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAbortedError, ManualClock } from '../../src/core/index.js';
import { bulkhead, isBulkheadRejectedError, pipeline, retry } from '../../src/resilience/index.js';
import { type Deferred, deferred, flush, settle } from './helpers.js';

describe('bulkhead: a free slot and nobody waiting', () => {
  it('starts the call synchronously and frees the slot when it settles, fulfilled or rejected', async () => {
    const b = bulkhead({ concurrency: 2 });
    const ok = deferred<string>();
    const bad = deferred<string>();
    const started: string[] = [];
    const first = b.execute(() => {
      started.push('first');
      return ok.promise;
    });
    const second = settle(
      b.execute(() => {
        started.push('second');
        return bad.promise;
      }),
    );
    expect(started).toEqual(['first', 'second']);
    expect([b.active, b.queued]).toEqual([2, 0]);
    ok.resolve('done');
    expect(await first).toBe('done');
    expect(b.active).toBe(1);
    bad.reject(new Error('failed'));
    expect((await second).ok).toBe(false);
    expect(b.active).toBe(0);
  });

  it('a synchronous throw or a plain value still takes and frees the slot', async () => {
    const b = bulkhead({ concurrency: 1 });
    await expect(
      b.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(await b.execute(() => 7)).toBe(7);
    expect(b.active).toBe(0);
  });

  it('a rejected call the caller forgot is still reported as an unhandled rejection', async () => {
    const b = bulkhead({ concurrency: 1 });
    const seen: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      seen.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const error = new Error('nobody listens');
      void b.execute(() => Promise.reject(error));
      await flush();
      await flush();
      expect(seen).toContain(error);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('onIdle waits for a fast-path call, then for the waiter it handed its slot to', async () => {
    const b = bulkhead({ concurrency: 1, maxQueue: 1 });
    const first = deferred();
    const second = deferred();
    const calls = [b.execute(() => first.promise), b.execute(() => second.promise)];
    let idle = false;
    const waiting = b.onIdle().then(() => {
      idle = true;
    });
    first.resolve();
    await flush();
    expect([b.active, b.queued, idle]).toEqual([1, 0, false]);
    second.resolve();
    await Promise.all(calls);
    await waiting;
    expect(idle).toBe(true);
  });

  it('onIdle waits for calls that took the fast path', async () => {
    const b = bulkhead({ concurrency: 2, maxQueue: 2 });
    const gates = [deferred(), deferred(), deferred()];
    const calls = gates.map((g) => b.execute(() => g.promise));
    expect([b.active, b.queued]).toEqual([2, 1]);
    let idle = false;
    const waiting = b.onIdle().then(() => {
      idle = true;
    });
    gates[0]?.resolve();
    await flush();
    expect(idle).toBe(false);
    gates[2]?.resolve();
    await flush();
    expect(idle).toBe(false);
    gates[1]?.resolve();
    await Promise.all(calls);
    await waiting;
    expect(idle).toBe(true);
    expect([b.active, b.queued]).toEqual([0, 0]);
  });
});

describe('bulkhead: fast-path calls and waiters together', () => {
  it('a waiter takes the slot a fast-path call frees, before any later arrival', async () => {
    const b = bulkhead({ concurrency: 2, maxQueue: 3 });
    const work = new Map<string, Deferred<void>>();
    const started: string[] = [];
    const run = (name: string): Promise<void> =>
      b.execute(() => {
        started.push(name);
        const d = deferred();
        work.set(name, d);
        return d.promise;
      });
    const calls = ['a', 'b', 'c', 'd'].map(run);
    expect(started).toEqual(['a', 'b']);
    expect([b.active, b.queued]).toEqual([2, 2]);
    work.get('a')?.resolve();
    await flush();
    expect(started).toEqual(['a', 'b', 'c']);
    // d still waits, so e queues behind it even though it arrives after a slot was freed.
    calls.push(run('e'));
    expect(b.queued).toBe(2);
    work.get('b')?.resolve();
    await flush();
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    work.get('c')?.resolve();
    await flush();
    expect(started).toEqual(['a', 'b', 'c', 'd', 'e']);
    work.get('d')?.resolve();
    work.get('e')?.resolve();
    await Promise.all(calls);
    await b.onIdle();
    // Once the line is empty, a call takes a free slot directly again.
    let ranAtOnce = false;
    const direct = b.execute(() => {
      ranAtOnce = true;
      return 'direct';
    });
    expect(ranAtOnce).toBe(true);
    expect(await direct).toBe('direct');
  });

  it('sheds at once when the fast-path calls hold every slot and the line is full', async () => {
    const b = bulkhead({ concurrency: 1, maxQueue: 1 });
    const gate = deferred();
    const running = b.execute(() => gate.promise);
    const queued = b.execute(() => 'second');
    const shed = await settle(b.execute(() => 'third'));
    expect(isBulkheadRejectedError((shed as { error: unknown }).error)).toBe(true);
    gate.resolve();
    await running;
    expect(await queued).toBe('second');
  });

  it('a fast-path call aborted by its caller keeps its slot until the work settles; the waiter waits', async () => {
    const b = bulkhead({ concurrency: 1, maxQueue: 1 });
    const controller = new AbortController();
    const work = deferred();
    const aborted = settle(b.execute(() => work.promise, controller.signal));
    const started: string[] = [];
    const waiter = b.execute(() => {
      started.push('waiter');
      return 'ran';
    });
    controller.abort();
    expect(isAbortedError(((await aborted) as { error: unknown }).error)).toBe(true);
    await flush();
    expect(started).toEqual([]);
    expect([b.active, b.queued]).toEqual([1, 1]);
    work.resolve();
    expect(await waiter).toBe('ran');
  });

  it('holds the slot across the retries inside it (the bulkhead bounds whole operations)', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ concurrency: 1 });
    const p = pipeline(b, retry({ maxAttempts: 3, backoff: { initial: 100, jitter: 'none' }, clock }));
    let attempts = 0;
    const first = p.execute(() => {
      attempts++;
      if (attempts < 3) throw new Error('flaky');
      return 'third time';
    });
    await flush();
    expect(b.active).toBe(1); // waiting out the backoff still holds the slot
    expect(isBulkheadRejectedError(((await settle(p.execute(() => 'other'))) as { error: unknown }).error)).toBe(true);
    await clock.advanceAsync(300);
    expect(await first).toBe('third time');
    expect(b.active).toBe(0);
  });
});

describe('bulkhead under random interleavings (fast path and waiting line mixed)', () => {
  it('starts calls in arrival order, never above concurrency, holds slots until the work settles', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.record({ fail: fc.boolean(), abort: fc.boolean(), watchIdle: fc.boolean() }), {
          minLength: 1,
          maxLength: 20,
        }),
        async (s, concurrency, maxQueue, plan) => {
          const b = bulkhead({ concurrency, maxQueue });
          const arrived: number[] = [];
          const started: number[] = [];
          const abortedBeforeStart = new Set<number>();
          const shed = new Set<number>();
          let working = 0;
          let maxWorking = 0;
          const violations: string[] = [];
          const idleChecks: Promise<void>[] = [];
          const busy = new Set<number>();
          const calls = plan.map((step, i) =>
            s.schedule(Promise.resolve(), `arrive ${i}`).then(() => {
              if (step.watchIdle) {
                // onIdle must wait for every call running or waiting now.
                const before = [...busy];
                idleChecks.push(
                  b.onIdle().then(() => {
                    const still = before.filter((k) => busy.has(k));
                    if (still.length > 0) violations.push(`onIdle before ${i} resolved with ${still} busy`);
                  }),
                );
              }
              const controller = new AbortController();
              const full = b.active >= concurrency && b.queued >= maxQueue;
              arrived.push(i);
              if (!full) busy.add(i);
              if (step.abort) {
                void s.schedule(Promise.resolve(), `abort ${i}`).then(() => {
                  if (!started.includes(i)) {
                    abortedBeforeStart.add(i);
                    busy.delete(i); // it leaves the line, or never joins it
                  }
                  controller.abort();
                });
              }
              return b
                .execute(async () => {
                  started.push(i);
                  working++;
                  maxWorking = Math.max(maxWorking, working);
                  if (b.active < working) violations.push(`${i}: ${working} running on ${b.active} slots`);
                  try {
                    await s.schedule(Promise.resolve(), `work ${i}`);
                    if (step.fail) throw new Error('fail');
                  } finally {
                    working--;
                    busy.delete(i);
                  }
                }, controller.signal)
                .then(
                  () => {
                    if (full) violations.push(`${i} ran although full`);
                  },
                  (error: unknown) => {
                    if (isBulkheadRejectedError(error)) shed.add(i);
                    if (isBulkheadRejectedError(error) !== full) violations.push(`${i}: shed=${!full}`);
                  },
                )
                .finally(() => {
                  if (b.active < working) violations.push(`after ${i}: ${working} running on ${b.active} slots`);
                });
            }),
          );
          await s.waitFor(Promise.all(calls));
          expect(maxWorking).toBeLessThanOrEqual(concurrency);
          // FIFO: the calls that ran started in the order they arrived.
          expect(started).toEqual(arrived.filter((i) => started.includes(i)));
          // Calls their callers gave up on still hold their slots until their work ends.
          await s.waitFor(Promise.all([b.onIdle(), ...idleChecks]));
          expect([b.active, b.queued]).toEqual([0, 0]);
          // No call got lost in the line: each one ran, was shed, or was aborted before it started.
          const lost = arrived.filter((i) => !started.includes(i) && !shed.has(i) && !abortedBeforeStart.has(i));
          expect(lost).toEqual([]);
          expect(violations).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
