/**
 * Properties every router must have, checked on each: same key same node, adding a node moves keys only
 * to it, removing one moves only its keys, getN distinct, prefix stable and led by get.
 */
import fc from 'fast-check';
import {
  BoundedLoadRing,
  compareRouting,
  HashRing,
  JumpHash,
  Rendezvous,
  type ReplicaRouter,
  type Router,
} from 'system-design-blocks/sharding';
import { describe, expect, it } from 'vitest';
import { orderKeys } from './helpers.js';

interface Mutable extends Router {
  add(id: string): void;
  remove(id: string): void;
  clone(): Mutable;
}

const strategies: { name: string; create(nodes: string[]): Promise<Mutable>; anyRemoval: boolean }[] = [
  { name: 'HashRing', create: (nodes) => HashRing.create({ nodes, virtualNodes: 40 }), anyRemoval: true },
  { name: 'Rendezvous', create: (nodes) => Rendezvous.create({ nodes }), anyRemoval: true },
  { name: 'JumpHash', create: (nodes) => JumpHash.create({ nodes }), anyRemoval: false },
  // With no key assigned, a bounded-load ring routes like its plain ring (every node is below its cap).
  { name: 'BoundedLoadRing', create: (nodes) => BoundedLoadRing.create({ nodes, virtualNodes: 40 }), anyRemoval: true },
];

const ids = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,8}$/), { minLength: 1, maxLength: 12 });
const keys = fc.uniqueArray(fc.oneof(fc.string(), fc.uint8Array({ maxLength: 12 })), {
  minLength: 1,
  maxLength: 60,
  selector: (k) => (typeof k === 'string' ? `s${k}` : `b${Array.from(k).join(',')}`),
});

describe.each(strategies)('$name', ({ create, anyRemoval }) => {
  it('sends the same key to the same node, and every key to one of its nodes', async () => {
    await fc.assert(
      fc.asyncProperty(ids, keys, async (nodes, sample) => {
        const router = await create(nodes);
        const twin = await create([...nodes]);
        for (const key of sample) {
          const node = router.get(key);
          expect(nodes).toContain(node);
          expect(router.get(key)).toBe(node);
          expect(twin.get(key)).toBe(node);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('moves keys only to an added node', async () => {
    await fc.assert(
      fc.asyncProperty(ids, keys, async (nodes, sample) => {
        const before = await create(nodes);
        const after = before.clone();
        after.add('added-node');
        const diff = compareRouting(before, after, sample);
        for (const flow of diff.flows) expect(flow.to).toBe('added-node');
      }),
      { numRuns: 40 },
    );
  });

  it('moves only the keys of a removed node', async () => {
    await fc.assert(
      fc.asyncProperty(
        ids.filter((n) => n.length >= 2),
        keys,
        fc.nat(),
        async (nodes, sample, pick) => {
          const before = await create(nodes);
          const gone = anyRemoval ? (nodes[pick % nodes.length] as string) : (nodes[nodes.length - 1] as string);
          const after = before.clone();
          after.remove(gone);
          const diff = compareRouting(before, after, sample);
          for (const flow of diff.flows) {
            expect(flow.from).toBe(gone);
            expect(flow.to).not.toBe(gone);
          }
          for (const key of sample) if (before.get(key) === gone) expect(after.get(key)).not.toBe(gone);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('moves about 1/(n+1) of the keys on add, spread over the old nodes', async () => {
    const sample = orderKeys(20_000);
    const nodes = Array.from({ length: 9 }, (_, i) => `s-${i}`);
    const before = await create(nodes);
    const after = before.clone();
    after.add('s-9');
    const diff = compareRouting(before, after, sample);
    // 40 points per node for the rings: ±16 % per node; 4 sd of slack on the new node's share.
    expect(diff.fraction).toBeGreaterThan(0.1 * (1 - 4 * 0.16));
    expect(diff.fraction).toBeLessThan(0.1 * (1 + 4 * 0.16));
  });
});

const replicaStrategies: { name: string; create(nodes: string[]): Promise<ReplicaRouter> }[] = [
  { name: 'HashRing', create: (nodes) => HashRing.create({ nodes, virtualNodes: 30 }) },
  { name: 'Rendezvous', create: (nodes) => Rendezvous.create({ nodes }) },
];

describe.each(replicaStrategies)('$name getN', ({ create }) => {
  it('returns min(n, size) distinct nodes, led by get(key), prefix stable', async () => {
    await fc.assert(
      fc.asyncProperty(ids, keys, fc.integer({ min: 1, max: 15 }), async (nodes, sample, n) => {
        const router = await create(nodes);
        for (const key of sample) {
          const list = router.getN(key, n);
          expect(list.length).toBe(Math.min(n, nodes.length));
          expect(new Set(list).size).toBe(list.length);
          expect(list[0]).toBe(router.get(key));
          for (const id of list) expect(nodes).toContain(id);
          const longer = router.getN(key, n + 1);
          expect(longer.slice(0, list.length)).toEqual(list);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('fails over to the next node of the list when the primary is removed', async () => {
    await fc.assert(
      fc.asyncProperty(
        ids.filter((n) => n.length >= 2),
        keys,
        async (nodes, sample) => {
          const router = await create(nodes);
          for (const key of sample.slice(0, 10)) {
            const [primary, secondary] = router.getN(key, 2) as [string, string];
            const without = await create(nodes.filter((id) => id !== primary));
            expect(without.get(key)).toBe(secondary);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
