import { isValidationError, ManualClock, ValidationError } from 'system-design-blocks';
import {
  Cache,
  type CacheEvictEvent,
  type CacheHitEvent,
  type CacheMissEvent,
  type CacheOptions,
} from 'system-design-blocks/cache';
import { describe, expect, it } from 'vitest';

function validationArgument(fn: () => unknown): string {
  try {
    fn();
  } catch (error: unknown) {
    if (isValidationError(error)) return error.argument;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('Cache: construction', () => {
  it('rejects a cache without a bound at run time', () => {
    expect(validationArgument(() => new Cache({ ttl: 1_000 } as unknown as CacheOptions<string, number>))).toBe(
      'options.max',
    );
    expect(validationArgument(() => new Cache(undefined as unknown as CacheOptions<string, number>))).toBe('options');
  });

  it.each<[unknown, string]>([
    [{ max: 0 }, 'options.max'],
    [{ max: 1.5 }, 'options.max'],
    [{ max: Number.POSITIVE_INFINITY }, 'options.max'],
    [{ max: -3 }, 'options.max'],
    [{ max: 2 ** 32 }, 'options.max'],
    [{ maxSize: 100 }, 'options.sizeOf'],
    [{ max: 10, sizeOf: () => 1 }, 'options.maxSize'],
    [{ maxSize: 0, sizeOf: () => 1 }, 'options.maxSize'],
    [{ maxSize: 10, sizeOf: 'big' }, 'options.sizeOf'],
    [{ max: 10, ttl: 0 }, 'options.ttl'],
    [{ max: 10, ttl: -1 }, 'options.ttl'],
    [{ max: 10, ttl: Number.NaN }, 'options.ttl'],
    [{ max: 10, ttl: Number.POSITIVE_INFINITY }, 'options.ttl'],
    [{ max: 10, ttlJitter: 1 }, 'options.ttlJitter'],
    [{ max: 10, ttlJitter: -0.1 }, 'options.ttlJitter'],
    [{ max: 10, staleWhileRevalidate: 0 }, 'options.staleWhileRevalidate'],
    [{ max: 10, staleIfError: Number.POSITIVE_INFINITY }, 'options.staleIfError'],
    [{ max: 10, negativeTtl: -5 }, 'options.negativeTtl'],
    [{ max: 10, clock: {} }, 'options.clock.now'],
    [{ max: 10, random: 0.5 }, 'options.random'],
  ])('rejects %o naming %s', (options, argument) => {
    expect(validationArgument(() => new Cache(options as unknown as CacheOptions<string, number>))).toBe(argument);
  });

  it('accepts a count bound, a size bound, or both', () => {
    expect(new Cache<string, number>({ max: 1 }).size).toBe(0);
    expect(new Cache<string, string>({ maxSize: 10, sizeOf: (v) => v.length }).size).toBe(0);
    expect(new Cache<string, string>({ max: 5, maxSize: 10, sizeOf: (v) => v.length }).size).toBe(0);
  });
});

describe('Cache: reads and writes', () => {
  it('get, peek, has, set, delete, clear and size behave like a map', () => {
    const cache = new Cache<string, number>({ max: 10 });
    expect(cache.get('a')).toBeUndefined();
    expect(cache.set('a', 1)).toBe(cache);
    cache.set('b', 0);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('b')).toBe(0);
    expect(cache.peek('a')).toBe(1);
    expect(cache.has('b')).toBe(true);
    expect(cache.size).toBe(2);
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    expect(cache.has('a')).toBe(false);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('b')).toBeUndefined();
  });

  it('keeps null and falsy values as values', () => {
    const cache = new Cache<string, number | string | boolean | null>({ max: 10 });
    cache.set('zero', 0).set('empty', '').set('no', false).set('null', null);
    expect([cache.get('zero'), cache.get('empty'), cache.get('no'), cache.get('null')]).toEqual([0, '', false, null]);
    expect(cache.has('null')).toBe(true);
    expect(cache.inspect('null')).toMatchObject({ state: 'fresh', value: null });
    expect(cache.stats().hits).toBe(4);
  });

  it('expires entries on the injected clock, per entry TTL overriding the default', () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 10, ttl: 1_000, clock });
    cache.set('default', 'd');
    cache.set('short', 's', { ttl: 100 });
    clock.advance(100); // fresh through the TTL, that instant included
    expect(cache.get('short')).toBe('s');
    clock.advance(1);
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('default')).toBe('d');
    clock.advance(900);
    expect(cache.get('default')).toBeUndefined();
    expect(cache.size).toBe(0); // read past every window: dropped
  });

  it('mixes bare and wrapped entries (no TTL, per-entry TTL, tags) correctly', () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ max: 3, clock });
    cache.set('plain', 'p');
    cache.set('timed', 't', { ttl: 10 });
    cache.set('tagged', 'g', { tags: ['x'] });
    expect([cache.get('plain'), cache.get('timed'), cache.get('tagged')]).toEqual(['p', 't', 'g']);
    clock.advance(11);
    expect(cache.get('timed')).toBeUndefined();
    cache.invalidateTag('x');
    expect(cache.get('tagged')).toBeUndefined();
    expect(cache.get('plain')).toBe('p');
    // Replacing wrapped entries with bare ones (and evicting) keeps every read right.
    cache.set('timed', 't2');
    cache.set('tagged', 'g2');
    cache.set('extra', 'e');
    expect(cache.get('plain')).toBeUndefined(); // least recently used of the four: evicted
    expect([cache.get('timed'), cache.get('tagged'), cache.get('extra')]).toEqual(['t2', 'g2', 'e']);
  });

  it('validates keys and options without changing anything', () => {
    const cache = new Cache<string, number>({ max: 10 });
    cache.set('a', 1);
    expect(validationArgument(() => cache.set(undefined as unknown as string, 1))).toBe('key');
    expect(validationArgument(() => cache.set('a', 2, { ttl: 0 }))).toBe('options.ttl');
    expect(validationArgument(() => cache.set('a', 2, { tags: [''] }))).toBe('options.tags[0]');
    expect(validationArgument(() => cache.set('a', 2, { tags: 'x' as unknown as string[] }))).toBe('options.tags');
    expect(validationArgument(() => cache.invalidateTag(''))).toBe('tag');
    expect(cache.get('a')).toBe(1);
  });

  it('peek and has touch neither recency nor statistics', () => {
    const cache = new Cache<string, number>({ max: 2 });
    cache.set('a', 1).set('b', 2);
    expect(cache.peek('a')).toBe(1);
    expect(cache.has('a')).toBe(true);
    cache.set('c', 3); // 'a' is still the least recently used
    expect(cache.has('a')).toBe(false);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
  });
});

describe('Cache: bounds and eviction', () => {
  it('evicts the least recently used entry first and counts it', () => {
    const cache = new Cache<number, string>({ max: 3 });
    const evicted: CacheEvictEvent<number, string>[] = [];
    cache.onEvict((e) => evicted.push(e));
    cache.set(1, 'a').set(2, 'b').set(3, 'c');
    cache.get(1); // 2 is now the least recently used
    cache.set(4, 'd');
    expect(evicted).toEqual([{ key: 2, value: 'b', reason: 'capacity' }]);
    expect(cache.has(2)).toBe(false);
    expect(cache.stats().evictions).toBe(1);
    expect(cache.size).toBe(3);
  });

  it('bounds by total size with sizeOf, and refuses a value larger than maxSize', () => {
    const cache = new Cache<string, string>({ maxSize: 10, sizeOf: (v) => v.length, ttl: 1_000 });
    cache.set('a', 'xxxx').set('b', 'yyyy');
    cache.set('c', 'zzzz'); // 12 > 10: 'a' goes
    expect(cache.has('a')).toBe(false);
    expect(cache.get('b')).toBe('yyyy');
    cache.set('huge', 'x'.repeat(11));
    expect(cache.has('huge')).toBe(false);
    expect(cache.get('c')).toBe('zzzz');
    expect(cache.stats().evictions).toBe(1);
  });

  it('rejects a sizeOf that does not return a positive integer, changing nothing', async () => {
    const cache = new Cache<string, string>({ maxSize: 10, sizeOf: (v) => (v === 'bad' ? 0.5 : 1) });
    expect(validationArgument(() => cache.set('a', 'bad'))).toBe('options.sizeOf');
    expect(cache.has('a')).toBe(false);
    // A load in flight is not superseded by a write that failed.
    let release: (v: string) => void = () => {};
    const loading = cache.getOrLoad('k', () => new Promise<string>((r) => (release = r)));
    expect(validationArgument(() => cache.set('k', 'bad'))).toBe('options.sizeOf');
    release('loaded');
    expect(await loading).toBe('loaded');
    expect(cache.get('k')).toBe('loaded');
  });

  it('an eviction listener may write to the cache (events go out after lru-cache returns)', () => {
    const cache = new Cache<number, number>({ max: 2 });
    const seen: number[] = [];
    cache.onEvict((e) => {
      seen.push(e.key);
      if (e.key === 1) cache.set(100, 100);
    });
    cache.set(1, 1).set(2, 2).set(3, 3);
    expect(seen).toEqual([1, 2]);
    expect(cache.get(100)).toBe(100);
    expect(cache.get(3)).toBe(3);
  });
});

describe('Cache: stats and events', () => {
  it('counts hits and misses and computes the hit ratio', () => {
    const cache = new Cache<string, number>({ max: 10 });
    expect(cache.stats().hitRatio).toBe(0);
    cache.set('a', 1);
    cache.get('a');
    cache.get('a');
    cache.get('a');
    cache.get('b');
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 1, hitRatio: 0.75, size: 1 });
    cache.resetStats();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, hitRatio: 0 });
  });

  it('emits typed hit and miss events until disposed', () => {
    const cache = new Cache<string, number>({ max: 10 });
    const hits: CacheHitEvent<string>[] = [];
    const misses: CacheMissEvent<string>[] = [];
    const h = cache.onHit((e) => hits.push(e));
    const m = cache.onMiss((e) => misses.push(e));
    cache.set('a', 1);
    cache.get('a');
    cache.get('b');
    h.dispose();
    m.dispose();
    cache.get('a');
    cache.get('b');
    expect(hits).toEqual([{ key: 'a', stale: false }]);
    expect(misses).toEqual([{ key: 'b' }]);
  });

  it('reports expired and tag-invalidated entries as they are found', () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number>({ max: 10, ttl: 10, clock });
    const evicted: CacheEvictEvent<string, number>[] = [];
    cache.onEvict((e) => evicted.push(e));
    cache.set('t', 1);
    cache.set('g', 2, { tags: ['promo'] });
    clock.advance(5);
    cache.invalidateTag('promo');
    expect(cache.get('g')).toBeUndefined();
    clock.advance(6);
    expect(cache.get('t')).toBeUndefined();
    expect(evicted).toEqual([
      { key: 'g', value: 2, reason: 'tag' },
      { key: 't', value: 1, reason: 'expired' },
    ]);
    expect(cache.stats().evictions).toBe(0); // capacity evictions only
  });

  it('prune frees every entry past its windows or invalidated, and inspect tells the states', () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number>({ max: 10, ttl: 100, staleWhileRevalidate: 50, staleIfError: 200, clock });
    cache.set('a', 1);
    cache.set('b', 2, { ttl: 1_000 });
    cache.set('c', 3, { tags: ['t'] });
    cache.set('d', 4, { ttl: 10_000 });
    expect(cache.inspect('a')).toEqual({ state: 'fresh', value: 1, expiresInMs: 100, tags: [] });
    clock.advance(120);
    expect(cache.inspect('a')).toEqual({ state: 'stale', value: 1, staleForMs: 20, revalidate: true, tags: [] });
    clock.advance(100);
    expect(cache.inspect('a')).toEqual({ state: 'stale', value: 1, staleForMs: 120, revalidate: false, tags: [] });
    cache.invalidateTag('t');
    expect(cache.inspect('c')).toEqual({ state: 'absent' });
    clock.advance(100); // 'a' is past 100 + 200
    expect(cache.inspect('a')).toEqual({ state: 'absent' });
    expect(cache.inspect('nothing')).toEqual({ state: 'absent' });
    expect(cache.size).toBe(4);
    expect(cache.prune()).toBe(2);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBe(2);
    expect(cache.get('d')).toBe(4);
  });

  it('a throwing listener does not break the read', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    cache.onHit(() => {
      throw new Error('listener bug');
    });
    cache.set('a', 1);
    const errors: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) =>
      original(() => {
        try {
          fn();
        } catch (error: unknown) {
          errors.push(error);
        }
      });
    try {
      expect(cache.get('a')).toBe(1);
      await Promise.resolve();
      await Promise.resolve();
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(errors).toHaveLength(1);
  });
});

describe('Cache: errors', () => {
  it('validation errors are ValidationError instances with stable codes', () => {
    try {
      new Cache({ max: -1 });
      expect.unreachable();
    } catch (error: unknown) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).code).toBe('E_INVALID_ARGUMENT');
    }
  });
});
