import { isValidationError } from 'system-design-blocks';
import { compareRouting, HashRing, isEmptyRingError, type Router, type ShardKey } from 'system-design-blocks/sharding';
import { describe, expect, it } from 'vitest';
import { orderKeys, thrown } from './helpers.js';

/** A router from a fixed table, to check the counting itself. */
function table(entries: Record<string, string>): Router {
  return {
    size: new Set(Object.values(entries)).size,
    get: (key: ShardKey) => entries[String(key)] ?? 'none',
    has: (id: string) => Object.values(entries).includes(id),
    nodes: () => [...new Set(Object.values(entries))],
  };
}

describe('compareRouting', () => {
  it('counts the keys that move and groups them into flows, largest first', () => {
    const before = table({ k1: 'a', k2: 'a', k3: 'b', k4: 'b', k5: 'c', k6: 'a' });
    const after = table({ k1: 'c', k2: 'c', k3: 'a', k4: 'b', k5: 'c', k6: 'b' });
    const diff = compareRouting(before, after, ['k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    expect(diff).toEqual({
      total: 6,
      moved: 4,
      fraction: 4 / 6,
      flows: [
        { from: 'a', to: 'c', count: 2 },
        { from: 'a', to: 'b', count: 1 },
        { from: 'b', to: 'a', count: 1 },
      ],
    });
  });

  it('takes any iterable, once, and reports zero for no keys', () => {
    const r = table({ x: 'a' });
    function* once(): Generator<string> {
      yield 'x';
      yield 'x';
    }
    expect(compareRouting(r, r, once())).toEqual({ total: 2, moved: 0, fraction: 0, flows: [] });
    expect(compareRouting(r, r, [])).toEqual({ total: 0, moved: 0, fraction: 0, flows: [] });
  });

  it('shows what a resharding moves: adding a fifth shard moves about a fifth, all to it', async () => {
    const before = await HashRing.create({ nodes: ['s1', 's2', 's3', 's4'] });
    const after = before.clone();
    after.add('s5');
    const diff = compareRouting(before, after, orderKeys(20_000));
    expect(diff.fraction).toBeGreaterThan(0.2 * 0.6);
    expect(diff.fraction).toBeLessThan(0.2 * 1.4);
    expect(new Set(diff.flows.map((f) => f.from))).toEqual(new Set(['s1', 's2', 's3', 's4']));
    expect(diff.flows.reduce((sum, f) => sum + f.count, 0)).toBe(diff.moved);
  });

  it('rejects what is not a router or a key, and passes an empty router’s error on', async () => {
    const ring = await HashRing.create({ nodes: ['a'] });
    const empty = await HashRing.create();
    expect(isValidationError(thrown(() => compareRouting({} as Router, ring, ['k'])))).toBe(true);
    expect(isValidationError(thrown(() => compareRouting(ring, ring, 5 as unknown as string[])))).toBe(true);
    const error = thrown(() => compareRouting(ring, ring, ['ok', 7 as unknown as string]));
    expect(isValidationError(error) && error.argument).toBe('keys[1]');
    expect(isEmptyRingError(thrown(() => compareRouting(ring, empty, ['k'])))).toBe(true);
  });
});
