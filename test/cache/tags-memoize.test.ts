import { isValidationError, ManualClock } from 'system-design-blocks';
import { Cache, type CacheEvictEvent } from 'system-design-blocks/cache';
import { describe, expect, it } from 'vitest';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('tags', () => {
  it('invalidateTag drops exactly the entries carrying the tag', () => {
    const cache = new Cache<string, number>({ max: 100 });
    cache.set('p1', 1, { tags: ['category:shoes', 'brand:acme'] });
    cache.set('p2', 2, { tags: ['category:shoes'] });
    cache.set('p3', 3, { tags: ['brand:acme'] });
    cache.set('p4', 4);
    cache.invalidateTag('category:shoes');
    expect([cache.get('p1'), cache.get('p2'), cache.get('p3'), cache.get('p4')]).toEqual([undefined, undefined, 3, 4]);
  });

  it('entries written after an invalidation are valid', () => {
    const cache = new Cache<string, number>({ max: 100 });
    cache.set('a', 1, { tags: ['t'] });
    cache.invalidateTag('t');
    cache.set('a', 2, { tags: ['t'] });
    expect(cache.get('a')).toBe(2);
    cache.invalidateTag('t');
    expect(cache.get('a')).toBeUndefined();
  });

  it('invalidating an unrelated tag does not touch other entries, however many times', () => {
    const cache = new Cache<number, number>({ max: 10 });
    cache.set(1, 1, { tags: ['keep'] });
    for (let i = 0; i < 5_000; i++) cache.invalidateTag(`other-${i}`); // crosses several sweeps
    expect(cache.get(1)).toBe(1);
    cache.invalidateTag('keep');
    expect(cache.get(1)).toBeUndefined();
  });

  it('the record of invalidations stays bounded: sweeps fold it into the entries', () => {
    const cache = new Cache<number, number>({ max: 10 });
    const evicted: CacheEvictEvent<number, number>[] = [];
    cache.onEvict((e) => evicted.push(e));
    for (let k = 0; k < 10; k++) cache.set(k, k, { tags: [`t${k}`] });
    cache.invalidateTag('t3');
    // Push past the sweep threshold without reading key 3: the sweep must drop it.
    for (let i = 0; i < 2_000; i++) cache.invalidateTag(`noise-${i}`);
    expect(evicted).toEqual([{ key: 3, value: 3, reason: 'tag' }]);
    expect(cache.size).toBe(9);
    for (let k = 0; k < 10; k++) expect(cache.get(k)).toBe(k === 3 ? undefined : k);
  });

  it('a load in flight when its tag is invalidated stores an already-invalid result, and new callers reload', async () => {
    const cache = new Cache<string, string>({ max: 10 });
    const resolvers: ((v: string) => void)[] = [];
    const loader = (): Promise<string> => new Promise((resolve) => resolvers.push(resolve));
    const first = cache.getOrLoad('k', loader, { tags: ['price'] });
    cache.invalidateTag('price');
    const second = cache.getOrLoad('k', loader, { tags: ['price'] });
    expect(resolvers).toHaveLength(2); // the second did not join the pre-invalidation load
    resolvers[0]?.('old price');
    expect(await first).toBe('old price');
    expect(cache.get('k')).toBeUndefined();
    resolvers[1]?.('new price');
    expect(await second).toBe('new price');
    expect(cache.get('k')).toBe('new price');
  });

  it('a sweep during a load supersedes the load if its tags were invalidated', async () => {
    const cache = new Cache<string, string>({ max: 10 });
    let resolve: (v: string) => void = () => {};
    const waiting = cache.getOrLoad('k', () => new Promise<string>((r) => (resolve = r)), { tags: ['t'] });
    cache.invalidateTag('t');
    for (let i = 0; i < 2_000; i++) cache.invalidateTag(`noise-${i}`);
    resolve('old');
    expect(await waiting).toBe('old');
    expect(cache.get('k')).toBeUndefined();
  });

  it('clear forgets recorded invalidations along with the entries', () => {
    const cache = new Cache<string, number>({ max: 10 });
    cache.invalidateTag('t');
    cache.clear();
    cache.set('a', 1, { tags: ['t'] });
    expect(cache.get('a')).toBe(1);
  });

  it('tags given to set are copied: mutating the array later changes nothing', () => {
    const cache = new Cache<string, number>({ max: 10 });
    const tags = ['a'];
    cache.set('k', 1, { tags });
    tags[0] = 'b';
    cache.invalidateTag('b');
    expect(cache.get('k')).toBe(1);
    expect(cache.inspect('k')).toMatchObject({ tags: ['a'] });
  });
});

describe('memoize', () => {
  it('caches by the first argument by default, with single flight', async () => {
    const cache = new Cache<string, string[]>({ max: 100, ttl: 1_000, clock: new ManualClock() });
    let calls = 0;
    const recommend = cache.memoize(async (userId: string) => {
      calls++;
      return [`top-for-${userId}`];
    });
    const results = await Promise.all([recommend('u1'), recommend('u1'), recommend('u2')]);
    expect(results).toEqual([['top-for-u1'], ['top-for-u1'], ['top-for-u2']]);
    expect(calls).toBe(2);
    await recommend('u1');
    expect(calls).toBe(2);
    expect(cache.get('u1')).toEqual(['top-for-u1']);
  });

  it('derives the key with options.key and passes every argument through', async () => {
    const cache = new Cache<string, number>({ max: 100 });
    const seen: [string, number][] = [];
    const price = cache.memoize(
      async (sku: string, qty: number) => {
        seen.push([sku, qty]);
        return qty * 10;
      },
      { key: (sku, qty) => `${sku}×${qty}`, tags: ['prices'] },
    );
    expect(await price('a', 2)).toBe(20);
    expect(await price('a', 2)).toBe(20);
    expect(await price('a', 3)).toBe(30);
    expect(seen).toEqual([
      ['a', 2],
      ['a', 3],
    ]);
    cache.invalidateTag('prices');
    expect(await price('a', 2)).toBe(20);
    expect(seen).toHaveLength(3);
  });

  it('keeps the stale windows and negative caching of the cache', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string | undefined>({
      max: 10,
      ttl: 100,
      staleIfError: 1_000,
      negativeTtl: 50,
      clock,
    });
    let fail = false;
    const lookup = cache.memoize(async (sku: string) => {
      if (fail) throw new Error('down');
      return sku === 'ghost' ? undefined : `product ${sku}`;
    });
    expect(await lookup('a')).toBe('product a');
    expect(await lookup('ghost')).toBeUndefined();
    expect(cache.has('ghost')).toBe(true);
    clock.advance(500);
    fail = true;
    expect(await lookup('a')).toBe('product a'); // stale-if-error
    await expect(lookup('ghost')).rejects.toThrow('down');
  });

  it('uses the ttl given to memoize', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number>({ max: 10, ttl: 10_000, clock });
    const f = cache.memoize(async () => 1, { ttl: 10 });
    await f('k');
    expect(cache.inspect('k')).toMatchObject({ state: 'fresh', expiresInMs: 10 });
  });

  it('validates up front, and rejects a call whose key cannot be derived', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    expect(() => cache.memoize(5 as unknown as () => number)).toThrow(/fn/);
    expect(() =>
      cache.memoize(async (a: string) => a.length, { key: 'x' as unknown as (a: string) => string }),
    ).toThrow(/options\.key/);
    expect(() => cache.memoize(async (a: string) => a.length, { ttl: 0 })).toThrow(/options\.ttl/);
    const f = cache.memoize(async (_a: string, _b: number) => 1, {
      key: () => {
        throw new Error('bad key');
      },
    });
    await expect(f('a', 1)).rejects.toThrow('bad key');
    const noKey = cache.memoize(async (a: string) => a.length, { key: () => undefined as unknown as string });
    await expect(noKey('a')).rejects.toSatisfy((e: unknown) => isValidationError(e) && e.argument === 'key');
    await flush();
  });
});
