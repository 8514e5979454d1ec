import type { Disposable } from 'system-design-blocks';
import {
  Cache,
  type CacheEntryState,
  type CacheLoader,
  type CacheOptions,
  type CacheStats,
  type CacheStore,
  MemoryCacheStore,
  TieredCache,
  type TieredCacheStats,
} from 'system-design-blocks/cache';
import { describe, expectTypeOf, it } from 'vitest';

describe('Cache types', () => {
  it('an unbounded cache does not type-check', () => {
    // @ts-expect-error a cache needs max, or maxSize with sizeOf
    new Cache<string, number>({ ttl: 1_000 });
    // @ts-expect-error no options at all
    new Cache<string, number>();
    // @ts-expect-error maxSize without sizeOf
    new Cache<string, number>({ maxSize: 100 });
    // @ts-expect-error sizeOf without maxSize
    new Cache<string, number>({ max: 100, sizeOf: () => 1 });
    expectTypeOf<{ max: number }>().toExtend<CacheOptions<string, number>>();
    expectTypeOf<{ maxSize: number; sizeOf: (v: string) => number }>().toExtend<CacheOptions<string, string>>();
    expectTypeOf<{ ttl: number }>().not.toExtend<CacheOptions<string, number>>();
  });

  it('sizeOf sees values without undefined, and the key', () => {
    new Cache<number, string | undefined>({
      maxSize: 100,
      sizeOf: (value, key) => {
        expectTypeOf(value).toEqualTypeOf<string>();
        expectTypeOf(key).toEqualTypeOf<number>();
        return value.length;
      },
    });
  });

  it('null and undefined are not keys', () => {
    // @ts-expect-error keys cannot be undefined
    new Cache<undefined, number>({ max: 1 });
    // @ts-expect-error keys cannot be null
    new Cache<null, number>({ max: 1 });
  });

  it('reads and loads are typed by the value type', () => {
    const cache = new Cache<string, { sku: string }>({ max: 10 });
    expectTypeOf(cache.get('a')).toEqualTypeOf<{ sku: string } | undefined>();
    expectTypeOf(cache.getOrLoad('a', async (key) => ({ sku: key }))).toEqualTypeOf<Promise<{ sku: string }>>();
    expectTypeOf(cache.stats()).toEqualTypeOf<CacheStats>();
    expectTypeOf(cache.inspect('a')).toEqualTypeOf<CacheEntryState<{ sku: string }>>();
    expectTypeOf(cache.onHit)
      .parameter(0)
      .parameter(0)
      .toEqualTypeOf<{ readonly key: string; readonly stale: boolean }>();
    expectTypeOf(cache.onEvict(() => {})).toEqualTypeOf<Disposable>();
    // @ts-expect-error the loader must produce the value type
    cache.getOrLoad('a', async () => 42);
    // @ts-expect-error a loader that may answer "not found" needs a value type that includes undefined
    cache.getOrLoad('a', async (): Promise<{ sku: string } | undefined> => undefined);
    const products = new Cache<string, { sku: string } | undefined>({ max: 10, negativeTtl: 1_000 });
    expectTypeOf(products.getOrLoad('a', async () => undefined)).toEqualTypeOf<Promise<{ sku: string } | undefined>>();
    expectTypeOf<CacheLoader<string, number>>().toEqualTypeOf<
      (key: string, signal: AbortSignal) => number | PromiseLike<number>
    >();
  });

  it('the entry state is a discriminated union', () => {
    const state = new Cache<string, number>({ max: 1 }).inspect('a');
    if (state.state === 'fresh') expectTypeOf(state.expiresInMs).toEqualTypeOf<number>();
    if (state.state === 'stale') expectTypeOf(state.revalidate).toEqualTypeOf<boolean>();
    if (state.state === 'absent') expectTypeOf(state).toEqualTypeOf<{ readonly state: 'absent' }>();
  });

  it('memoize keeps the function signature; a derived key is required beyond one key argument', () => {
    const cache = new Cache<string, number>({ max: 10 });
    const byKey = cache.memoize(async (sku: string) => sku.length);
    expectTypeOf(byKey).toEqualTypeOf<(key: string) => Promise<number>>();
    const byArgs = cache.memoize(async (_sku: string, qty: number) => qty, { key: (sku, qty) => `${sku}:${qty}` });
    expectTypeOf(byArgs).toEqualTypeOf<(_sku: string, qty: number) => Promise<number>>();
    // @ts-expect-error two arguments and no key function
    cache.memoize(async (_sku: string, qty: number) => qty);
    // @ts-expect-error the key function must return the key type
    cache.memoize(async (_sku: string, qty: number) => qty, { key: (_sku, qty) => qty });
  });
});

describe('TieredCache types', () => {
  it('takes a store of values without undefined, and reports both tiers', () => {
    const store: CacheStore<string> = new MemoryCacheStore<string>();
    const cache = new TieredCache<string, string | undefined>({ max: 10, ttl: 1_000, store });
    expectTypeOf(cache.get('a')).toEqualTypeOf<Promise<string | undefined>>();
    expectTypeOf(cache.stats()).toEqualTypeOf<TieredCacheStats>();
    expectTypeOf(cache.local).toEqualTypeOf<Cache<string, string | undefined>>();
    expectTypeOf(cache).toExtend<Disposable>();
    // @ts-expect-error the in-process tier needs a bound too
    new TieredCache<string, string>({ ttl: 1_000 });
    // @ts-expect-error the store must hold the value type
    new TieredCache<string, number>({ max: 10, ttl: 1_000, store });
  });
});
