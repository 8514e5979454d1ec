import fc from 'fast-check';
import { ManualClock } from 'system-design-blocks';
import { Cache } from 'system-design-blocks/cache';
import { describe, expect, it } from 'vitest';

/**
 * The reference: a plain array in recency order (least recent first) of entries with an absolute expiry and
 * the tags they were written with, plus the time of each tag's latest invalidation (as a write counter).
 */
interface ModelEntry {
  key: number;
  value: number;
  expires: number;
  tags: string[];
  written: number;
}

class Model {
  entries: ModelEntry[] = [];
  invalidated = new Map<string, number>();
  writes = 0;
  now = 0;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(
    readonly max: number,
    readonly ttl: number | undefined,
  ) {}

  #index(key: number): number {
    return this.entries.findIndex((e) => e.key === key);
  }

  /** Fresh through its TTL, that instant included (lru-cache's rule); then, with no stale window, dead. */
  #alive(e: ModelEntry): boolean {
    return this.now <= e.expires && e.tags.every((t) => (this.invalidated.get(t) ?? -1) < e.written);
  }

  set(key: number, value: number, ttl: number | undefined, tags: string[]): void {
    const i = this.#index(key);
    if (i !== -1) this.entries.splice(i, 1);
    else if (this.entries.length === this.max) {
      this.entries.shift();
      this.evictions++;
    }
    const life = ttl ?? this.ttl;
    this.entries.push({
      key,
      value,
      expires: life === undefined ? Number.POSITIVE_INFINITY : this.now + life,
      tags,
      written: this.writes++,
    });
  }

  get(key: number): number | undefined {
    const i = this.#index(key);
    const e = this.entries[i];
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.entries.splice(i, 1);
    if (!this.#alive(e)) {
      this.misses++;
      return undefined; // found dead: dropped
    }
    this.entries.push(e);
    this.hits++;
    return e.value;
  }

  peek(key: number): number | undefined {
    const e = this.entries.find((x) => x.key === key);
    return e !== undefined && this.#alive(e) ? e.value : undefined;
  }

  delete(key: number): boolean {
    const i = this.#index(key);
    if (i === -1) return false;
    this.entries.splice(i, 1);
    return true;
  }

  invalidate(tag: string): void {
    this.invalidated.set(tag, this.writes++);
  }

  prune(): number {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => this.#alive(e));
    return before - this.entries.length;
  }

  clear(): void {
    this.entries = [];
  }
}

const key = fc.integer({ min: 0, max: 7 });
/** Durations on a coarse grid, so reads land exactly on expiry instants often. */
const ttlArb = fc.integer({ min: 1, max: 10 }).map((x) => x * 10);
const advanceArb = fc.integer({ min: 0, max: 8 }).map((x) => x * 5);
const tag = fc.constantFrom('a', 'b', 'c');
const op = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      key,
      value: fc.integer(),
      ttl: fc.option(ttlArb, { nil: undefined, freq: 2 }),
      tags: fc.uniqueArray(tag, { maxLength: 2 }),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant('get' as const), key }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('peek' as const), key }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('has' as const), key }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), key }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: advanceArb }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('invalidate' as const), tag }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('prune' as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('clear' as const) }), weight: 1 },
);

describe('Cache against a reference model', () => {
  it('agrees with a reference LRU map with expiry and tags on every operation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.option(ttlArb, { nil: undefined, freq: 2 }),
        fc.array(op, { maxLength: 80 }),
        (max, ttl, ops) => {
          const clock = new ManualClock();
          const cache = new Cache<number, number>({ max, ...(ttl === undefined ? {} : { ttl }), clock });
          const model = new Model(max, ttl);
          for (const o of ops) {
            switch (o.kind) {
              case 'set':
                cache.set(o.key, o.value, { ...(o.ttl === undefined ? {} : { ttl: o.ttl }), tags: o.tags });
                model.set(o.key, o.value, o.ttl, o.tags);
                break;
              case 'get':
                expect(cache.get(o.key)).toBe(model.get(o.key));
                break;
              case 'peek':
                expect(cache.peek(o.key)).toBe(model.peek(o.key));
                break;
              case 'has':
                expect(cache.has(o.key)).toBe(model.peek(o.key) !== undefined);
                break;
              case 'delete':
                expect(cache.delete(o.key)).toBe(model.delete(o.key));
                break;
              case 'advance':
                clock.advance(o.ms);
                model.now += o.ms;
                break;
              case 'invalidate':
                cache.invalidateTag(o.tag);
                model.invalidate(o.tag);
                break;
              case 'prune':
                expect(cache.prune()).toBe(model.prune());
                break;
              case 'clear':
                cache.clear();
                model.clear();
                break;
            }
            expect(cache.size).toBe(model.entries.length);
          }
          expect(cache.stats()).toMatchObject({ hits: model.hits, misses: model.misses, evictions: model.evictions });
        },
      ),
      {
        numRuns: 400,
        examples: [
          [
            1,
            undefined,
            [
              { kind: 'set', key: 0, value: 1, ttl: 10, tags: [] },
              { kind: 'advance', ms: 10 },
              { kind: 'get', key: 0 },
            ],
          ],
        ],
      },
    );
  });

  it('getOrLoad agrees with "get, else load and set" when loads settle one at a time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ key, advance: advanceArb }), { maxLength: 60 }),
        async (max, reads) => {
          const clock = new ManualClock();
          const cache = new Cache<number, string>({ max, ttl: 50, clock });
          const model = new Model(max, 50);
          let loads = 0;
          for (const read of reads) {
            clock.advance(read.advance);
            model.now += read.advance;
            const expected = model.get(read.key);
            const value = await cache.getOrLoad(read.key, async (k) => `loaded ${k} #${++loads}`);
            if (expected === undefined) {
              expect(value).toBe(`loaded ${read.key} #${loads}`);
              model.set(read.key, loads, undefined, []);
            } else {
              expect(value).toBe(`loaded ${read.key} #${expected}`);
            }
          }
          expect(cache.stats()).toMatchObject({ hits: model.hits, misses: model.misses, loads });
        },
      ),
      { numRuns: 150 },
    );
  });
});
