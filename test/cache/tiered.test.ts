import { isValidationError, ManualClock } from 'system-design-blocks';
import {
  type CacheStore,
  type CacheStoreError,
  type CacheStoreEvent,
  type CacheStoreHit,
  type CacheStoreSetOptions,
  type CacheStoreWriteOptions,
  isCacheStoreError,
  MemoryCacheStore,
  runCacheStoreContract,
  TieredCache,
  type TieredCacheOptions,
} from 'system-design-blocks/cache';
import { describe, expect, it } from 'vitest';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

runCacheStoreContract(it, ({ clock }) => new MemoryCacheStore({ clock }), { prefix: 'MemoryCacheStore: ' });

/** A store wrapper that counts calls and can be made to fail. */
class FlakyStore<V> implements CacheStore<V> {
  readonly inner: MemoryCacheStore<V>;
  failing = false;
  gets = 0;
  sets = 0;
  deletes = 0;
  constructor(clock: ManualClock) {
    this.inner = new MemoryCacheStore<V>({ clock });
  }
  async get(key: string): Promise<CacheStoreHit<V> | undefined> {
    this.gets++;
    if (this.failing) throw new Error('redis: connection refused');
    return this.inner.get(key);
  }
  async set(key: string, value: V, options: CacheStoreSetOptions): Promise<void> {
    this.sets++;
    if (this.failing) throw new Error('redis: connection refused');
    return this.inner.set(key, value, options);
  }
  async delete(key: string, options?: CacheStoreWriteOptions): Promise<boolean> {
    this.deletes++;
    if (this.failing) throw new Error('redis: connection refused');
    return this.inner.delete(key, options);
  }
  subscribe(listener: (event: CacheStoreEvent) => void) {
    return this.inner.subscribe(listener);
  }
}

function setup(extra: { readonly ttl?: number; readonly staleWhileRevalidate?: number } = {}) {
  const clock = new ManualClock();
  const store = new FlakyStore<string>(clock);
  const make = (origin: string): TieredCache<string, string> =>
    new TieredCache<string, string>({ max: 100, ttl: 1_000, storeTtl: 10_000, store, clock, origin, ...extra });
  return { clock, store, make };
}

describe('TieredCache: read path', () => {
  it('L1 miss → L2 miss → loader, writing both tiers; then L1 answers', async () => {
    const { store, make } = setup();
    const cache = make('web-1');
    let calls = 0;
    const loader = async (key: string): Promise<string> => `${key} v${++calls}`;
    expect(await cache.getOrLoad('p1', loader)).toBe('p1 v1');
    expect(store.gets).toBe(1);
    expect(store.sets).toBe(1);
    expect((await store.inner.get('p1'))?.value).toBe('p1 v1');
    expect(await cache.getOrLoad('p1', loader)).toBe('p1 v1');
    expect(store.gets).toBe(1);
    expect(calls).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, storeHits: 0, storeMisses: 1, loads: 1 });
  });

  it('another process answers from L2 without calling its loader, and keeps a local copy', async () => {
    const { store, make } = setup();
    const web1 = make('web-1');
    const web2 = make('web-2');
    await web1.getOrLoad('p1', async () => 'from db');
    let called = false;
    expect(
      await web2.getOrLoad('p1', async () => {
        called = true;
        return 'unused';
      }),
    ).toBe('from db');
    expect(called).toBe(false);
    expect(web2.stats()).toMatchObject({ storeHits: 1 });
    expect(web2.inspect('p1')).toMatchObject({ state: 'fresh', value: 'from db' });
    expect(store.sets).toBe(1);
  });

  it('the L1 copy of an L2 value lives no longer than the L2 value has left', async () => {
    const { clock, store, make } = setup();
    await store.inner.set('p1', 'shared', { ttl: 300 });
    const cache = make('web-1');
    clock.advance(100);
    expect(await cache.get('p1')).toBe('shared');
    expect(cache.inspect('p1')).toMatchObject({ state: 'fresh', expiresInMs: 200 });
    const other = make('web-2');
    expect(await other.getOrLoad('p1', async () => 'unused')).toBe('shared');
    expect(other.inspect('p1')).toMatchObject({ state: 'fresh', expiresInMs: 200 });
  });

  it('10,000 concurrent cold reads make one L2 read and one loader call', async () => {
    const { store, make } = setup();
    const cache = make('web-1');
    let calls = 0;
    const results = await Promise.all(
      Array.from({ length: 10_000 }, () =>
        cache.getOrLoad('hot', async () => {
          calls++;
          return 'v';
        }),
      ),
    );
    expect(results.every((r) => r === 'v')).toBe(true);
    expect(calls).toBe(1);
    expect(store.gets).toBe(1);
  });

  it('get reads through to L2 without a loader, and answers undefined when both miss', async () => {
    const { store, make } = setup();
    const cache = make('web-1');
    expect(await cache.get('nothing')).toBeUndefined();
    await store.inner.set('p', 'v', { ttl: 5_000 });
    expect(await cache.get('p')).toBe('v');
    expect(await cache.get('p')).toBe('v');
    expect(store.gets).toBe(2);
    expect(cache.stats()).toMatchObject({ storeHits: 1, storeMisses: 1 });
  });

  it('a failing store does not fail reads: they fall through to the loader, and the failure is reported', async () => {
    const { store, make } = setup();
    const cache = make('web-1');
    const errors: CacheStoreError[] = [];
    cache.onStoreError((e) => errors.push(e));
    store.failing = true;
    expect(await cache.getOrLoad('p1', async () => 'from db')).toBe('from db');
    expect(await cache.get('p2')).toBeUndefined();
    expect(errors.map((e) => [e.operation, e.key])).toEqual([
      ['get', 'p1'],
      ['set', 'p1'],
      ['get', 'p2'],
    ]);
    expect(errors.every(isCacheStoreError)).toBe(true);
    expect(errors[0]?.cause).toBeInstanceOf(Error);
    expect(cache.stats().storeErrors).toBe(3);
    expect(cache.inspect('p1')).toMatchObject({ state: 'fresh', value: 'from db' });
  });

  it('keeps the in-process features: stale-while-revalidate refreshes through the store', async () => {
    const { clock, make } = setup({ staleWhileRevalidate: 5_000, ttl: 1_000 });
    const cache = make('web-1');
    await cache.getOrLoad('p', async () => 'v1');
    clock.advance(1_500);
    let calls = 0;
    expect(
      await cache.getOrLoad('p', async () => {
        calls++;
        return 'v2';
      }),
    ).toBe('v1');
    await flush();
    // The L2 copy (storeTtl 10 s) was still good: the refresh took it, the loader was not called.
    expect(calls).toBe(0);
    expect(cache.inspect('p')).toMatchObject({ state: 'fresh', value: 'v1' });
  });

  it('remembers "not found" in process only', async () => {
    const clock = new ManualClock();
    const store = new FlakyStore<string>(clock);
    const cache = new TieredCache<string, string | undefined>({ max: 10, ttl: 1_000, negativeTtl: 500, store, clock });
    let calls = 0;
    const loader = async (): Promise<string | undefined> => {
      calls++;
      return undefined;
    };
    expect(await cache.getOrLoad('ghost', loader)).toBeUndefined();
    expect(await cache.getOrLoad('ghost', loader)).toBeUndefined();
    expect(await cache.get('ghost')).toBeUndefined();
    expect(calls).toBe(1);
    expect(store.sets).toBe(0);
    expect(store.gets).toBe(1);
  });
});

describe('TieredCache: write path and invalidation', () => {
  it('set writes through both tiers and tells the other processes to drop their copy', async () => {
    const { make, store } = setup();
    const web1 = make('web-1');
    const web2 = make('web-2');
    await web1.getOrLoad('price', async () => '10.00');
    await web2.getOrLoad('price', async () => 'unused');
    expect(web2.inspect('price')).toMatchObject({ state: 'fresh', value: '10.00' });
    await web1.set('price', '8.00');
    expect(web1.inspect('price')).toMatchObject({ state: 'fresh', value: '8.00' }); // own write not dropped
    expect(web2.inspect('price')).toEqual({ state: 'absent' });
    expect(await web2.get('price')).toBe('8.00');
    expect((await store.inner.get('price'))?.value).toBe('8.00');
  });

  it('delete removes from both tiers and from the other processes', async () => {
    const { make, store } = setup();
    const web1 = make('web-1');
    const web2 = make('web-2');
    await web1.set('p', 'v');
    expect(await web2.get('p')).toBe('v');
    expect(await web1.delete('p')).toBe(true);
    expect(await web1.delete('p')).toBe(false);
    expect(await store.inner.get('p')).toBeUndefined();
    expect(web2.inspect('p')).toEqual({ state: 'absent' });
    expect(await web2.get('p')).toBeUndefined();
  });

  it('a write another process makes while a load runs here is not overwritten by the load', async () => {
    const { make } = setup();
    const web1 = make('web-1');
    const web2 = make('web-2');
    let release: (v: string) => void = () => {};
    const loading = web1.getOrLoad('p', () => new Promise<string>((r) => (release = r)));
    await flush(); // web1's load is past its L2 read and waiting for the database
    await web2.set('p', 'newer');
    release('older');
    expect(await loading).toBe('older');
    expect(web1.inspect('p')).toEqual({ state: 'absent' });
    expect(await web1.get('p')).toBe('newer');
  });

  it('a failed store write rejects with CacheStoreError and leaves no local copy', async () => {
    const { make, store } = setup();
    const cache = make('web-1');
    await cache.set('p', 'v1');
    store.failing = true;
    await expect(cache.set('p', 'v2')).rejects.toSatisfy(
      (e: unknown) => isCacheStoreError(e) && e.operation === 'set' && e.key === 'p',
    );
    expect(cache.inspect('p')).toEqual({ state: 'absent' });
    await expect(cache.delete('p')).rejects.toSatisfy((e: unknown) => isCacheStoreError(e) && e.operation === 'delete');
    store.failing = false;
    expect((await store.inner.get('p'))?.value).toBe('v1');
  });

  it('a store read racing a write does not fill the local tier with the older value', async () => {
    const clock = new ManualClock();
    const inner = new MemoryCacheStore<string>({ clock });
    await inner.set('p', 'old', { ttl: 10_000 });
    let releaseGet: () => void = () => {};
    const slowStore: CacheStore<string> = {
      get: async (key) => {
        const hit = await inner.get(key);
        await new Promise<void>((r) => (releaseGet = r));
        return hit;
      },
      set: (key, value, options) => inner.set(key, value, options),
      delete: (key, options) => inner.delete(key, options),
    };
    const cache = new TieredCache<string, string>({ max: 10, ttl: 1_000, store: slowStore, clock });
    const reading = cache.get('p');
    await flush();
    await cache.set('p', 'new');
    releaseGet();
    expect(await reading).toBe('old');
    expect(cache.inspect('p')).toMatchObject({ value: 'new' });
  });

  it('stops listening after dispose', async () => {
    const { make } = setup();
    const web1 = make('web-1');
    const web2 = make('web-2');
    await web1.set('p', 'v');
    await web2.get('p');
    web2.dispose();
    await web1.set('p', 'v2');
    expect(web2.inspect('p')).toMatchObject({ state: 'fresh', value: 'v' });
  });

  it('set(key, undefined) deletes from the store and remembers "not found" locally', async () => {
    const clock = new ManualClock();
    const store = new MemoryCacheStore<string>({ clock });
    const cache = new TieredCache<string, string | undefined>({ max: 10, ttl: 1_000, negativeTtl: 100, store, clock });
    await cache.set('p', 'v');
    await cache.set('p', undefined);
    expect(await store.get('p')).toBeUndefined();
    expect(cache.inspect('p')).toMatchObject({ state: 'fresh', value: undefined });
  });
});

describe('TieredCache: options and keys', () => {
  it('requires a store retention: storeTtl, or ttl', () => {
    expect(() => new TieredCache<string, string>({ max: 10 })).toThrow(/options\.storeTtl/);
    expect(new TieredCache<string, string>({ max: 10, storeTtl: 1_000 }).stats().size).toBe(0);
    expect(new TieredCache<string, string>({ max: 10, ttl: 1_000 }).stats().size).toBe(0);
  });

  it('validates the store, storeKey and origin, and the in-process options', () => {
    const bad = (options: unknown): string => {
      try {
        new TieredCache(options as TieredCacheOptions<string, string>);
      } catch (error: unknown) {
        if (isValidationError(error)) return error.argument;
      }
      return 'accepted';
    };
    expect(bad({ max: 10, ttl: 1, store: {} })).toBe('options.store.get');
    expect(bad({ max: 10, ttl: 1, store: 'redis' })).toBe('options.store');
    expect(bad({ max: 10, ttl: 1, storeKey: 'k' })).toBe('options.storeKey');
    expect(bad({ max: 10, ttl: 1, origin: '' })).toBe('options.origin');
    expect(bad({ max: 10, ttl: 1, storeTtl: -1 })).toBe('options.storeTtl');
    expect(bad({ ttl: 1 })).toBe('options.max');
  });

  it('maps number keys with String and other keys with storeKey', async () => {
    const numeric = new TieredCache<number, string>({ max: 10, ttl: 1_000 });
    expect(await numeric.getOrLoad(42, async (id) => `#${id}`)).toBe('#42');
    expect(numeric.local.get('42')).toBe('#42');
    const objects = new TieredCache<{ sku: string; region: string }, string>({
      max: 10,
      ttl: 1_000,
      storeKey: (k) => `${k.region}:${k.sku}`,
    });
    expect(await objects.getOrLoad({ sku: 'a', region: 'kr' }, async (k) => k.sku)).toBe('a');
    expect(objects.local.has('kr:a')).toBe(true);
    const noMapping = new TieredCache<{ sku: string }, string>({ max: 10, ttl: 1_000 });
    await expect(noMapping.getOrLoad({ sku: 'a' }, async () => 'x')).rejects.toSatisfy(isValidationError);
    await expect(noMapping.get({ sku: 'a' })).rejects.toSatisfy(isValidationError);
  });

  it('rejects a loader that is not a function', async () => {
    const cache = new TieredCache<string, string>({ max: 10, ttl: 1_000 });
    await expect(cache.getOrLoad('k', 1 as unknown as () => string)).rejects.toSatisfy(
      (e: unknown) => isValidationError(e) && e.argument === 'loader',
    );
  });
});

describe('MemoryCacheStore', () => {
  it('is bounded: the least recently used key leaves', async () => {
    const store = new MemoryCacheStore<number>({ max: 2 });
    await store.set('a', 1, { ttl: 1_000 });
    await store.set('b', 2, { ttl: 1_000 });
    await store.get('a');
    await store.set('c', 3, { ttl: 1_000 });
    expect(await store.get('b')).toBeUndefined();
    expect(store.size).toBe(2);
  });

  it('rejects non-string keys and a bad max', async () => {
    const store = new MemoryCacheStore<number>();
    await expect(store.get(1 as unknown as string)).rejects.toSatisfy(isValidationError);
    expect(() => new MemoryCacheStore({ max: 0 })).toThrow(/options\.max/);
  });
});
