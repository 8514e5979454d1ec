import fc from 'fast-check';
import { isAbortedError, isValidationError, ManualClock } from 'system-design-blocks';
import { Cache, type CacheErrorEvent, type CacheLoadEvent } from 'system-design-blocks/cache';
import { describe, expect, it } from 'vitest';

/** Lets pending callbacks run (one macrotask turn); no clock moves. */
const flushMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A loader whose calls are counted and settled by hand. */
function manualLoader<V>() {
  const calls: { key: string; signal: AbortSignal; resolve: (v: V) => void; reject: (e: unknown) => void }[] = [];
  const loader = (key: string, signal: AbortSignal): Promise<V> =>
    new Promise<V>((resolve, reject) => {
      calls.push({ key, signal, resolve, reject });
    });
  return { loader, calls };
}

describe('Cache.getOrLoad: single flight', () => {
  it('10,000 concurrent callers for a cold key share exactly one loader call', async () => {
    const cache = new Cache<string, { sku: string }>({ max: 100, ttl: 60_000, clock: new ManualClock() });
    const { loader, calls } = manualLoader<{ sku: string }>();
    const waiting = Array.from({ length: 10_000 }, () => cache.getOrLoad('sku-1', loader));
    expect(calls).toHaveLength(1);
    calls[0]?.resolve({ sku: 'sku-1' });
    const results = await Promise.all(waiting);
    expect(new Set(results).size).toBe(1);
    expect(results[9_999]).toEqual({ sku: 'sku-1' });
    expect(cache.stats()).toMatchObject({ loads: 1, misses: 10_000, coalesced: 9_999, hits: 0 });
    expect(await cache.getOrLoad('sku-1', loader)).toEqual({ sku: 'sku-1' });
    expect(calls).toHaveLength(1);
    expect(cache.stats().hits).toBe(1);
  });

  it('10,000 concurrent callers with signals still make one call', async () => {
    const cache = new Cache<string, number>({ max: 100 });
    const { loader, calls } = manualLoader<number>();
    const controllers = Array.from({ length: 10_000 }, () => new AbortController());
    const waiting = controllers.map((c) => cache.getOrLoad('k', loader, { signal: c.signal }));
    expect(calls).toHaveLength(1);
    calls[0]?.resolve(7);
    expect((await Promise.all(waiting)).every((v) => v === 7)).toBe(true);
    expect(calls[0]?.signal.aborted).toBe(false);
  });

  it('different keys load independently', async () => {
    const cache = new Cache<string, string>({ max: 100 });
    const { loader, calls } = manualLoader<string>();
    const a = cache.getOrLoad('a', loader);
    const b = cache.getOrLoad('b', loader);
    expect(calls.map((c) => c.key)).toEqual(['a', 'b']);
    calls[1]?.resolve('B');
    calls[0]?.resolve('A');
    expect(await Promise.all([a, b])).toEqual(['A', 'B']);
  });

  it('accepts a synchronous loader, and a loader that throws synchronously', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    expect(await cache.getOrLoad('sync', () => 5)).toBe(5);
    expect(cache.get('sync')).toBe(5);
    const boom = new Error('sync boom');
    await expect(
      cache.getOrLoad('throws', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(cache.stats().loadErrors).toBe(1);
  });

  it('rejects a loader that is not a function, and bad options, with a ValidationError', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const notAFunction = 42 as unknown as () => number;
    await expect(cache.getOrLoad('k', notAFunction)).rejects.toSatisfy(
      (e: unknown) => isValidationError(e) && e.argument === 'loader',
    );
    await expect(cache.getOrLoad('k', () => 1, { ttl: -1 })).rejects.toSatisfy(
      (e: unknown) => isValidationError(e) && e.argument === 'options.ttl',
    );
    await expect(cache.getOrLoad('k', () => 1, { signal: 'stop' as unknown as AbortSignal })).rejects.toSatisfy(
      (e: unknown) => isValidationError(e) && e.argument === 'options.signal',
    );
    await expect(cache.getOrLoad(null as unknown as string, () => 1)).rejects.toSatisfy(
      (e: unknown) => isValidationError(e) && e.argument === 'key',
    );
    expect(cache.stats().loads).toBe(0);
  });
});

describe('Cache.getOrLoad: errors', () => {
  it('a rejection reaches every waiter, is counted once, and is not cached', async () => {
    const cache = new Cache<string, number>({ max: 10, ttl: 1_000 });
    const { loader, calls } = manualLoader<number>();
    const errors: CacheErrorEvent<string>[] = [];
    cache.onError((e) => errors.push(e));
    const waiting = Array.from({ length: 100 }, () => cache.getOrLoad('k', loader));
    const failure = new Error('database down');
    calls[0]?.reject(failure);
    const outcomes = await Promise.allSettled(waiting);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason === failure)).toBe(true);
    expect(errors).toEqual([{ key: 'k', error: failure, background: false }]);
    expect(cache.stats()).toMatchObject({ loadErrors: 1, loads: 1 });
    expect(cache.has('k')).toBe(false);
    // The next caller starts a new load.
    const next = cache.getOrLoad('k', loader);
    expect(calls).toHaveLength(2);
    calls[1]?.resolve(3);
    expect(await next).toBe(3);
  });

  it('emits a load event with duration, and found/stored flags', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number | undefined>({ max: 10, clock });
    const loads: CacheLoadEvent<string>[] = [];
    cache.onLoad((e) => loads.push(e));
    const result = cache.getOrLoad('k', async () => {
      await clock.sleep(250);
      return 1;
    });
    await clock.advanceAsync(250);
    expect(await result).toBe(1);
    await cache.getOrLoad('missing', async () => undefined);
    expect(loads).toEqual([
      { key: 'k', durationMs: 250, background: false, found: true, stored: true },
      { key: 'missing', durationMs: 0, background: false, found: false, stored: false },
    ]);
  });
});

describe('Cache.getOrLoad: abandonment', () => {
  it("a caller's signal abandons only its own wait", async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const { loader, calls } = manualLoader<number>();
    const leaving = new AbortController();
    const a = cache.getOrLoad('k', loader, { signal: leaving.signal });
    const b = cache.getOrLoad('k', loader, { signal: new AbortController().signal });
    leaving.abort();
    await expect(a).rejects.toSatisfy(isAbortedError);
    expect(calls[0]?.signal.aborted).toBe(false);
    calls[0]?.resolve(1);
    expect(await b).toBe(1);
    expect(cache.get('k')).toBe(1);
  });

  it('rejects with the reason the caller gave', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const { loader } = manualLoader<number>();
    const controller = new AbortController();
    const reason = new Error('user navigated away');
    const waiting = cache.getOrLoad('k', loader, { signal: controller.signal });
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('aborts the loader only when every waiter has abandoned, and does not store a late result', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const { loader, calls } = manualLoader<number>();
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const waiting = controllers.map((c) => cache.getOrLoad('k', loader, { signal: c.signal }));
    controllers[0]?.abort();
    controllers[1]?.abort();
    expect(calls[0]?.signal.aborted).toBe(false);
    controllers[2]?.abort();
    expect(calls[0]?.signal.aborted).toBe(true);
    expect(isAbortedError(calls[0]?.signal.reason)).toBe(true);
    const outcomes = await Promise.allSettled(waiting);
    expect(outcomes.every((o) => o.status === 'rejected' && isAbortedError(o.reason))).toBe(true);
    calls[0]?.resolve(99); // a loader that ignores its signal
    await flushMicrotasks();
    expect(cache.has('k')).toBe(false);
    expect(cache.stats().loadErrors).toBe(0);
    // A new caller starts a fresh load rather than joining the abandoned one.
    const again = cache.getOrLoad('k', loader);
    expect(calls).toHaveLength(2);
    calls[1]?.resolve(5);
    expect(await again).toBe(5);
  });

  it('an abandoned loader that rejects is not reported as a load error', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const errors: unknown[] = [];
    cache.onError((e) => errors.push(e));
    const controller = new AbortController();
    const waiting = cache.getOrLoad(
      'k',
      (_key, signal) =>
        new Promise<number>((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      { signal: controller.signal },
    );
    controller.abort();
    await expect(waiting).rejects.toSatisfy(isAbortedError);
    await flushMicrotasks();
    expect(errors).toEqual([]);
    expect(cache.stats().loadErrors).toBe(0);
  });

  it('never aborts while a caller without a signal waits', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const { loader, calls } = manualLoader<number>();
    const controller = new AbortController();
    const withSignal = cache.getOrLoad('k', loader, { signal: controller.signal });
    const without = cache.getOrLoad('k', loader);
    controller.abort();
    await expect(withSignal).rejects.toSatisfy(isAbortedError);
    expect(calls[0]?.signal.aborted).toBe(false);
    calls[0]?.resolve(4);
    expect(await without).toBe(4);
  });

  it('an already aborted signal rejects at once, even on a hit, and starts nothing', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    cache.set('hit', 1);
    const { loader, calls } = manualLoader<number>();
    await expect(cache.getOrLoad('hit', loader, { signal: AbortSignal.abort() })).rejects.toSatisfy(isAbortedError);
    await expect(cache.getOrLoad('miss', loader, { signal: AbortSignal.abort() })).rejects.toSatisfy(isAbortedError);
    expect(calls).toHaveLength(0);
  });

  it('a signal that aborts after the load settled changes nothing', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const controller = new AbortController();
    expect(await cache.getOrLoad('k', async () => 1, { signal: controller.signal })).toBe(1);
    controller.abort();
    expect(cache.get('k')).toBe(1);
  });
});

describe('Cache.getOrLoad: writes during a load', () => {
  it('a set during a load wins: the waiters get the loaded value, the cache keeps the written one', async () => {
    const cache = new Cache<string, string>({ max: 10 });
    const { loader, calls } = manualLoader<string>();
    const waiting = cache.getOrLoad('k', loader);
    cache.set('k', 'written');
    calls[0]?.resolve('loaded-before-the-write');
    expect(await waiting).toBe('loaded-before-the-write');
    expect(cache.get('k')).toBe('written');
  });

  it('a delete during a load is not undone by the load; later callers start a new load', async () => {
    const cache = new Cache<string, string>({ max: 10 });
    const { loader, calls } = manualLoader<string>();
    const first = cache.getOrLoad('k', loader);
    cache.delete('k');
    const second = cache.getOrLoad('k', loader);
    expect(calls).toHaveLength(2);
    calls[0]?.resolve('old');
    expect(await first).toBe('old');
    expect(cache.has('k')).toBe(false);
    calls[1]?.resolve('new');
    expect(await second).toBe('new');
    expect(cache.get('k')).toBe('new');
  });

  it('clear supersedes every load in flight', async () => {
    const cache = new Cache<string, string>({ max: 10 });
    const { loader, calls } = manualLoader<string>();
    const a = cache.getOrLoad('a', loader);
    const b = cache.getOrLoad('b', loader);
    cache.clear();
    calls[0]?.resolve('A');
    calls[1]?.resolve('B');
    expect(await Promise.all([a, b])).toEqual(['A', 'B']);
    expect(cache.size).toBe(0);
  });
});

describe('Cache.getOrLoad: interleavings (fast-check scheduler)', () => {
  it('whatever the order of arrivals, aborts and settlement, the single-flight rules hold', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.record({ withSignal: fc.boolean(), abort: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (s, callers, fails) => {
          const cache = new Cache<string, number>({ max: 10 });
          let calls = 0;
          const abortedCalls = new Set<number>();
          // The loader ignores its signal on purpose: a late result of an aborted call must not reach anyone.
          const loader = (_key: string, signal: AbortSignal): Promise<number> => {
            const call = ++calls;
            signal.addEventListener('abort', () => abortedCalls.add(call));
            return s.schedule(Promise.resolve(call), `settle load ${call}`).then((v) => {
              if (fails) throw new Error(`load ${v} failed`);
              return v;
            });
          };
          let arrivedLive = 0;
          const outcomes: Promise<{ value?: number; error?: unknown }>[] = [];
          for (const [i, caller] of callers.entries()) {
            const controller = caller.withSignal ? new AbortController() : undefined;
            outcomes.push(
              s
                .schedule(Promise.resolve(), `caller ${i} arrives`)
                .then(() => {
                  if (!controller?.signal.aborted) arrivedLive++;
                  return cache.getOrLoad('k', loader, controller ? { signal: controller.signal } : undefined);
                })
                .then(
                  (value) => ({ value }),
                  (error: unknown) => ({ error }),
                ),
            );
            if (controller !== undefined && caller.abort) {
              void s.schedule(Promise.resolve(), `caller ${i} aborts`).then(() => controller.abort());
            }
          }
          await s.waitAll();
          const results = await Promise.all(outcomes);
          for (const [i, result] of results.entries()) {
            const couldLeave = callers[i]?.withSignal === true && callers[i]?.abort === true;
            if (isAbortedError(result.error)) expect(couldLeave).toBe(true);
            else if (fails) expect(result.error).toBeInstanceOf(Error);
            else {
              expect(result.error).toBeUndefined();
              // Nobody is answered by a call that was aborted: it was aborted because nobody waited.
              expect(abortedCalls.has(result.value as number)).toBe(false);
            }
          }
          const stats = cache.stats();
          expect(stats.hits + stats.misses).toBe(arrivedLive);
          expect(stats.loads).toBe(calls);
          expect(stats.misses - stats.coalesced).toBe(calls); // each miss started a load or joined one
          expect(stats.loadErrors).toBe(fails ? calls - abortedCalls.size : 0);
          const cached = cache.get('k');
          if (cached !== undefined) {
            expect(fails).toBe(false);
            expect(abortedCalls.has(cached)).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
