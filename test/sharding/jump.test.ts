import fc from 'fast-check';
import { isValidationError } from 'system-design-blocks';
import {
  compareRouting,
  isDuplicateNodeError,
  isEmptyRingError,
  isJumpHashRemovalError,
  isUnknownNodeError,
  JumpHash,
  jumpHash,
} from 'system-design-blocks/sharding';
import { describe, expect, it } from 'vitest';
import { jumpHashReference, nodeIds, orderKeys, snapshot, thrown } from './helpers.js';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe('jumpHash', () => {
  it('matches the reference values of the issue', () => {
    expect(jumpHash(1n, 1)).toBe(0);
    expect(jumpHash(42n, 57)).toBe(43);
    expect(jumpHash(0xdead10ccn, 666)).toBe(361);
    expect(jumpHash(256n, 1024)).toBe(520);
    expect(jumpHash(16045690984833335023n, 255)).toBe(237);
  });

  it('agrees with a BigInt reference implementation on the whole 64-bit range', () => {
    fc.assert(
      fc.property(u64, fc.integer({ min: 1, max: 0x7fffffff }), (key, buckets) => {
        expect(jumpHash(key, buckets)).toBe(jumpHashReference(key, buckets));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the reference at the edges of the key space', () => {
    const keys = [0n, 1n, 0xffffffffn, 0x100000000n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];
    for (const key of keys) {
      for (const buckets of [1, 2, 3, 1000, 65_536, 0x7fffffff]) {
        expect(jumpHash(key, buckets)).toBe(jumpHashReference(key, buckets));
      }
    }
  });

  it('returns a bucket in range, and going to n + 1 buckets moves a key only into the new bucket', () => {
    fc.assert(
      fc.property(u64, fc.integer({ min: 1, max: 10_000 }), (key, buckets) => {
        const before = jumpHash(key, buckets);
        const after = jumpHash(key, buckets + 1);
        expect(before).toBeGreaterThanOrEqual(0);
        expect(before).toBeLessThan(buckets);
        expect(after === before || after === buckets).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects keys outside the unsigned 64-bit range and bad bucket counts', () => {
    for (const key of [-1n, 1n << 64n, 5, '5', null] as unknown[]) {
      const error = thrown(() => jumpHash(key as bigint, 10));
      expect(isValidationError(error) && error.argument).toBe('key');
    }
    for (const buckets of [0, -1, 1.5, Number.NaN, 2 ** 31, '10', undefined] as unknown[]) {
      const error = thrown(() => jumpHash(1n, buckets as number));
      expect(isValidationError(error) && error.argument).toBe('buckets');
    }
  });
});

describe('JumpHash router', () => {
  const keys = orderKeys(5000);

  it('routes a key to the same node every time, and identically across instances', async () => {
    const a = await JumpHash.create({ nodes: nodeIds(7) });
    const b = await JumpHash.create({ nodes: nodeIds(7) });
    for (const key of keys.slice(0, 500)) {
      expect(a.get(key)).toBe(a.get(key));
      expect(a.get(key)).toBe(b.get(key));
    }
  });

  it('routes bytes like the same UTF-8 string', async () => {
    const jump = await JumpHash.create({ nodes: nodeIds(9) });
    const encoder = new TextEncoder();
    for (const key of ['a', 'order-17', 'ümlaut', '']) expect(jump.get(encoder.encode(key))).toBe(jump.get(key));
  });

  it('appends on add: keys move only to the new node', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), async (n) => {
        const before = await JumpHash.create({ nodes: nodeIds(n) });
        const after = before.clone();
        after.add('fresh');
        expect(after.nodes()).toEqual([...nodeIds(n), 'fresh']);
        const diff = compareRouting(before, after, keys.slice(0, 1000));
        expect(diff.flows.every((f) => f.to === 'fresh')).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('removes the last node: only its keys move', async () => {
    const before = await JumpHash.create({ nodes: nodeIds(12) });
    const after = before.clone();
    after.remove('node-11');
    const diff = compareRouting(before, after, keys);
    expect(diff.moved).toBeGreaterThan(0);
    expect(diff.flows.every((f) => f.from === 'node-11')).toBe(true);
    expect(after.has('node-11')).toBe(false);
    expect(before.has('node-11')).toBe(true);
  });

  it('refuses to remove any node but the last, and says which one may go', async () => {
    const jump = await JumpHash.create({ nodes: ['a', 'b', 'c'] });
    const before = snapshot(jump, keys);
    const error = thrown(() => jump.remove('a'));
    expect(isJumpHashRemovalError(error)).toBe(true);
    if (isJumpHashRemovalError(error)) {
      expect(error.nodeId).toBe('a');
      expect(error.lastNodeId).toBe('c');
      expect(error.message).toMatch(/only the last node/);
    }
    expect(snapshot(jump, keys)).toEqual(before);
  });

  it('rejects duplicates, unknown nodes, weights and bad ids, leaving the router as it was', async () => {
    const jump = await JumpHash.create({ nodes: ['a', 'b'] });
    const before = snapshot(jump, keys);
    expect(isDuplicateNodeError(thrown(() => jump.add('b')))).toBe(true);
    expect(isUnknownNodeError(thrown(() => jump.remove('z')))).toBe(true);
    expect(isValidationError(thrown(() => jump.add('')))).toBe(true);
    expect(isValidationError(thrown(() => jump.add({ id: 'w', weight: 2 } as unknown as string)))).toBe(true);
    expect(isValidationError(thrown(() => jump.get(42 as unknown as string)))).toBe(true);
    expect(snapshot(jump, keys)).toEqual(before);
    await expect(JumpHash.create({ nodes: ['a', 'a'] })).rejects.toSatisfy(isDuplicateNodeError);
    await expect(JumpHash.create({ nodes: 'a' as unknown as string[] })).rejects.toSatisfy(isValidationError);
  });

  it('throws EmptyRingError on lookups without nodes', async () => {
    const jump = await JumpHash.create();
    expect(isEmptyRingError(thrown(() => jump.get('k')))).toBe(true);
    jump.add('only');
    expect(jump.get('k')).toBe('only');
    jump.remove('only');
    expect(jump.size).toBe(0);
  });
});
