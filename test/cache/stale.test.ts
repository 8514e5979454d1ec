import fc from 'fast-check';
import { ManualClock } from 'system-design-blocks';
import { Cache, type CacheRefreshEvent } from 'system-design-blocks/cache';
import { describe, expect, it } from 'vitest';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A loader settled by hand, counting calls. */
function manualLoader<V>() {
  const calls: { signal: AbortSignal; resolve: (v: V) => void; reject: (e: unknown) => void }[] = [];
  const loader = (_key: string, signal: AbortSignal): Promise<V> =>
    new Promise<V>((resolve, reject) => calls.push({ signal, resolve, reject }));
  return { loader, calls };
}

describe('stale-while-revalidate', () => {
  it('inside the window: the stale value at once, exactly one background refresh, then the new value', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, staleWhileRevalidate: 500, clock });
    const refreshes: CacheRefreshEvent<string>[] = [];
    cache.onRefresh((e) => refreshes.push(e));
    cache.set('k', 'v1');
    clock.advance(1_100); // 100 ms stale, inside the 500 ms window
    const { loader, calls } = manualLoader<string>();
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.getOrLoad('k', loader)));
    expect(answers.every((a) => a === 'v1')).toBe(true);
    expect(calls).toHaveLength(1);
    expect(refreshes).toEqual([{ key: 'k', staleForMs: 100 }]);
    expect(cache.stats()).toMatchObject({ hits: 50, staleServed: 50, refreshes: 1, loads: 1, misses: 0 });
    calls[0]?.resolve('v2');
    await flush();
    expect(cache.get('k')).toBe('v2');
    expect(cache.inspect('k')).toMatchObject({ state: 'fresh', expiresInMs: 1_000 });
  });

  it('a plain get never returns a stale value', () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, staleWhileRevalidate: 500, clock });
    cache.set('k', 'v1');
    clock.advance(1_001);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.peek('k')).toBeUndefined();
    expect(cache.has('k')).toBe(false);
    expect(cache.inspect('k')).toMatchObject({ state: 'stale', revalidate: true });
  });

  it('the window closes at ttl + staleWhileRevalidate: then callers wait for the load', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, staleWhileRevalidate: 500, clock });
    cache.set('k', 'v1');
    clock.advance(1_500); // the window's last instant
    const { loader, calls } = manualLoader<string>();
    expect(await cache.getOrLoad('k', loader)).toBe('v1');
    calls[0]?.reject(new Error('refresh failed'));
    await flush();
    clock.advance(1);
    const waiting = cache.getOrLoad('k', loader);
    expect(calls).toHaveLength(2);
    calls[1]?.resolve('v2');
    expect(await waiting).toBe('v2');
  });

  it('a failed background refresh keeps the stale value and lets the next read try again', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 100, staleWhileRevalidate: 1_000, clock });
    const errors: unknown[] = [];
    cache.onError((e) => errors.push(e));
    cache.set('k', 'v1');
    clock.advance(200);
    const { loader, calls } = manualLoader<string>();
    expect(await cache.getOrLoad('k', loader)).toBe('v1');
    calls[0]?.reject(new Error('model down'));
    await flush();
    expect(errors).toHaveLength(1);
    expect(cache.stats().loadErrors).toBe(1);
    expect(await cache.getOrLoad('k', loader)).toBe('v1');
    expect(calls).toHaveLength(2);
  });

  it('a foreground caller arriving after the window joins the running refresh', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 100, staleWhileRevalidate: 100, clock });
    cache.set('k', 'v1');
    clock.advance(150);
    const { loader, calls } = manualLoader<string>();
    expect(await cache.getOrLoad('k', loader)).toBe('v1');
    clock.advance(100); // past the window while the refresh still runs
    const waiting = cache.getOrLoad('k', loader);
    expect(calls).toHaveLength(1);
    calls[0]?.resolve('v2');
    expect(await waiting).toBe('v2');
    expect(cache.stats().coalesced).toBe(1);
  });

  it('a set during a background refresh aborts the refresh and keeps the written value', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 100, staleWhileRevalidate: 100, clock });
    cache.set('k', 'v1');
    clock.advance(150);
    const { loader, calls } = manualLoader<string>();
    await cache.getOrLoad('k', loader);
    cache.set('k', 'written');
    expect(calls[0]?.signal.aborted).toBe(true);
    calls[0]?.resolve('late refresh');
    await flush();
    expect(cache.get('k')).toBe('written');
  });
});

describe('stale-if-error', () => {
  it('inside the window a failed load answers the stale value to every waiter', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, staleIfError: 5_000, clock });
    cache.set('k', 'v1');
    clock.advance(2_000);
    const { loader, calls } = manualLoader<string>();
    const waiting = Array.from({ length: 10 }, () => cache.getOrLoad('k', loader));
    const withSignal = cache.getOrLoad('k', loader, { signal: new AbortController().signal });
    expect(calls).toHaveLength(1);
    calls[0]?.reject(new Error('database down'));
    expect(await Promise.all(waiting)).toEqual(Array(10).fill('v1'));
    expect(await withSignal).toBe('v1');
    expect(cache.stats()).toMatchObject({ staleServed: 11, loadErrors: 1, misses: 11, hits: 0 });
    // the stale entry stays for the next failure
    expect(cache.inspect('k')).toMatchObject({ state: 'stale', revalidate: false });
  });

  it('inside the window a successful load answers the new value', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, staleIfError: 5_000, clock });
    cache.set('k', 'v1');
    clock.advance(2_000);
    expect(await cache.getOrLoad('k', async () => 'v2')).toBe('v2');
    expect(cache.stats().staleServed).toBe(0);
  });

  it('past the window the failure reaches the caller', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, staleIfError: 5_000, clock });
    cache.set('k', 'v1');
    clock.advance(6_001);
    const failure = new Error('database down');
    await expect(cache.getOrLoad('k', () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it('the window is checked when the load fails, not when it started', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, staleIfError: 1_000, clock });
    cache.set('k', 'v1');
    clock.advance(1_500);
    const { loader, calls } = manualLoader<string>();
    const waiting = cache.getOrLoad('k', loader);
    clock.advance(600); // the stale-if-error window closed during the load
    const failure = new Error('timeout');
    calls[0]?.reject(failure);
    await expect(waiting).rejects.toBe(failure);
  });

  it('an entry deleted during the load is not served as a fallback', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, staleIfError: 5_000, clock });
    cache.set('k', 'v1');
    clock.advance(1_500);
    const { loader, calls } = manualLoader<string>();
    const waiting = cache.getOrLoad('k', loader);
    cache.delete('k');
    const failure = new Error('down');
    calls[0]?.reject(failure);
    await expect(waiting).rejects.toBe(failure);
  });

  it('abandoning a wait rejects with the abort even inside the window', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, staleIfError: 5_000, clock });
    cache.set('k', 'v1');
    clock.advance(1_500);
    const controller = new AbortController();
    const { loader } = manualLoader<string>();
    const waiting = cache.getOrLoad('k', loader, { signal: controller.signal });
    const reason = new Error('client left');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('combined with stale-while-revalidate: answer at once, and keep answering while the source fails', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({
      max: 10,
      ttl: 1_000,
      staleWhileRevalidate: 1_000,
      staleIfError: 10_000,
      clock,
    });
    cache.set('k', 'v1');
    const failing = (): Promise<string> => Promise.reject(new Error('down'));
    clock.advance(1_500);
    expect(await cache.getOrLoad('k', failing)).toBe('v1'); // stale-while-revalidate
    await flush();
    clock.advance(3_000);
    expect(await cache.getOrLoad('k', failing)).toBe('v1'); // stale-if-error
    clock.advance(7_000);
    await expect(cache.getOrLoad('k', failing)).rejects.toThrow('down');
  });
});

describe('ttlJitter', () => {
  it('draws every TTL within ±fraction of the base', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (jitter, ttl, draws) => {
          const clock = new ManualClock();
          let i = 0;
          const random = (): number => draws[i++ % draws.length] as number;
          const cache = new Cache<number, number>({ max: 100, ttl, ttlJitter: jitter, clock, random });
          for (let k = 0; k < draws.length; k++) cache.set(k, k);
          for (let k = 0; k < draws.length; k++) {
            const state = cache.inspect(k);
            if (state.state !== 'fresh') throw new Error(`entry ${k} should be fresh`);
            expect(state.expiresInMs).toBeGreaterThanOrEqual(ttl * (1 - jitter) - 1e-6);
            expect(state.expiresInMs).toBeLessThanOrEqual(ttl * (1 + jitter) + 1e-6);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('spreads the expiry of entries written together', () => {
    const clock = new ManualClock();
    const cache = new Cache<number, number>({ max: 1_000, ttl: 10_000, ttlJitter: 0.2, clock });
    for (let k = 0; k < 1_000; k++) cache.set(k, k);
    clock.advance(8_000); // 0.8 × ttl: the lowest possible expiry
    const alive1 = Array.from({ length: 1_000 }, (_, k) => cache.has(k)).filter(Boolean).length;
    clock.advance(2_000); // the base ttl: about half have gone
    const alive2 = Array.from({ length: 1_000 }, (_, k) => cache.has(k)).filter(Boolean).length;
    clock.advance(2_000); // 1.2 × ttl: all gone
    const alive3 = Array.from({ length: 1_000 }, (_, k) => cache.has(k)).filter(Boolean).length;
    expect(alive1).toBe(1_000);
    expect(alive2).toBeGreaterThan(350);
    expect(alive2).toBeLessThan(650);
    expect(alive3).toBe(0);
  });

  it('applies to per-entry TTLs and to negative entries too, and 0 means exact', () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number | undefined>({
      max: 10,
      ttlJitter: 0.5,
      negativeTtl: 100,
      clock,
      random: () => 0.999,
    });
    cache.set('a', 1, { ttl: 1_000 });
    cache.set('missing', undefined);
    expect(cache.inspect('a')).toMatchObject({ expiresInMs: 1_000 * (1 + 0.5 * (2 * 0.999 - 1)) });
    expect(cache.inspect('missing')).toMatchObject({ expiresInMs: 100 * (1 + 0.5 * (2 * 0.999 - 1)) });
    const exact = new Cache<string, number>({ max: 10, ttl: 1_000, clock, random: () => 0.999 });
    exact.set('a', 1);
    expect(exact.inspect('a')).toMatchObject({ expiresInMs: 1_000 });
  });
});

describe('negative caching', () => {
  it('remembers "not found" for negativeTtl so the source is asked once', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, { sku: string } | undefined>({ max: 10, ttl: 60_000, negativeTtl: 5_000, clock });
    let calls = 0;
    const loader = async (): Promise<{ sku: string } | undefined> => {
      calls++;
      return undefined;
    };
    for (let i = 0; i < 100; i++) expect(await cache.getOrLoad('ghost', loader)).toBeUndefined();
    expect(calls).toBe(1);
    expect(cache.has('ghost')).toBe(true);
    expect(cache.get('ghost')).toBeUndefined();
    expect(cache.stats().hits).toBe(100); // 99 getOrLoad + 1 get
    clock.advance(5_001);
    await cache.getOrLoad('ghost', loader);
    expect(calls).toBe(2);
  });

  it('negative entries have no stale windows', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string | undefined>({
      max: 10,
      negativeTtl: 100,
      staleWhileRevalidate: 10_000,
      staleIfError: 10_000,
      clock,
    });
    await cache.getOrLoad('ghost', async () => undefined);
    clock.advance(101);
    expect(cache.inspect('ghost')).toEqual({ state: 'absent' });
    const failure = new Error('down');
    await expect(cache.getOrLoad('ghost', () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it('without negativeTtl "not found" is answered, not cached, and clears a stale copy', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string | undefined>({ max: 10, ttl: 100, staleIfError: 1_000, clock });
    cache.set('k', 'old');
    clock.advance(200);
    let calls = 0;
    const loader = async (): Promise<string | undefined> => {
      calls++;
      return undefined;
    };
    expect(await cache.getOrLoad('k', loader)).toBeUndefined();
    expect(cache.inspect('k')).toEqual({ state: 'absent' });
    await cache.getOrLoad('k', loader);
    expect(calls).toBe(2);
  });

  it('set(key, undefined) remembers "not found" with negativeTtl, and deletes without it', () => {
    const clock = new ManualClock();
    const negative = new Cache<string, string | undefined>({ max: 10, negativeTtl: 50, clock });
    negative.set('k', undefined);
    expect(negative.inspect('k')).toEqual({ state: 'fresh', value: undefined, expiresInMs: 50, tags: [] });
    const plain = new Cache<string, string | undefined>({ max: 10, clock });
    plain.set('k', 'v');
    plain.set('k', undefined);
    expect(plain.has('k')).toBe(false);
    plain.set('k', undefined, { ttl: 10 });
    expect(plain.has('k')).toBe(true);
  });

  it('a rejection is never cached, even with negativeTtl', async () => {
    const cache = new Cache<string, string | undefined>({ max: 10, negativeTtl: 10_000 });
    await expect(cache.getOrLoad('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(cache.has('k')).toBe(false);
  });
});
