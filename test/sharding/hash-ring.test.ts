import fc from 'fast-check';
import { initHashing, isValidationError, xxh32 } from 'system-design-blocks';
import {
  compareRouting,
  HashRing,
  isDuplicateNodeError,
  isEmptyRingError,
  isUnknownNodeError,
  type NodeInput,
} from 'system-design-blocks/sharding';
import { describe, expect, it } from 'vitest';
import { counts, nodeIds, orderKeys, routing, snapshot, thrown } from './helpers.js';
import { type ModelNode, RingModel } from './ring-model.js';

const keys = orderKeys(2000);

/** Small node sets: distinct short ids, weights that give at least one point. */
const nodeSets = fc.uniqueArray(
  fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), weight: fc.constantFrom(0.5, 1, 1, 2, 3.25) }),
  { minLength: 1, maxLength: 8, selector: (n) => n.id },
);

describe('HashRing', () => {
  it('is created without calling initHashing first (create awaits it)', async () => {
    const ring = await HashRing.create({ nodes: ['a', 'b'] });
    expect(['a', 'b']).toContain(ring.get('order-1'));
    expect(ring.virtualNodes).toBe(160);
    expect(ring.points).toBe(320);
  });

  it('routes exactly as the documented layout says (model-based, with weights and virtual nodes)', async () => {
    await fc.assert(
      fc.asyncProperty(nodeSets, fc.integer({ min: 1, max: 40 }), async (nodes, virtualNodes) => {
        const ring = await HashRing.create({ nodes, virtualNodes });
        const model = new RingModel(nodes, virtualNodes);
        expect(ring.points).toBe(model.points.length);
        for (const key of keys.slice(0, 200)) {
          expect(ring.get(key)).toBe(model.get(key));
          expect(ring.getN(key, 3)).toEqual(model.getN(key, 3));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('stays equal to a ring built from scratch under random add/remove sequences', async () => {
    type Op = { kind: 'add'; node: ModelNode } | { kind: 'remove'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        node: fc.record({ id: fc.string({ minLength: 1, maxLength: 3 }), weight: fc.constantFrom(0.5, 1, 2) }),
      }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const ring = await HashRing.create({ virtualNodes: 8 });
        const live: ModelNode[] = [];
        for (const o of ops) {
          if (o.kind === 'add') {
            if (live.some((n) => n.id === o.node.id)) {
              expect(isDuplicateNodeError(thrown(() => ring.add(o.node)))).toBe(true);
            } else {
              ring.add(o.node);
              live.push(o.node);
            }
          } else if (live.length > 0) {
            const [gone] = live.splice(o.pick % live.length, 1);
            ring.remove((gone as ModelNode).id);
          }
          expect(ring.nodes()).toEqual(live.map((n) => n.id));
          expect(ring.size).toBe(live.length);
        }
        if (live.length === 0) return;
        const model = new RingModel(live, 8);
        expect(ring.points).toBe(model.points.length);
        for (const key of keys.slice(0, 100)) expect(ring.getN(key, 2)).toEqual(model.getN(key, 2));
      }),
      { numRuns: 60 },
    );
  });

  it('gives the same routing whatever the order nodes were given or added in', async () => {
    await fc.assert(
      fc.asyncProperty(nodeSets, fc.func(fc.integer()), async (nodes, order) => {
        const shuffled = [...nodes].sort((a, b) => order(a.id) - order(b.id) || (a.id < b.id ? -1 : 1));
        const a = await HashRing.create({ nodes, virtualNodes: 20 });
        const b = await HashRing.create({ virtualNodes: 20 });
        for (const node of shuffled) b.add(node);
        expect(routing(b, keys.slice(0, 300))).toEqual(routing(a, keys.slice(0, 300)));
      }),
      { numRuns: 40 },
    );
  });

  it('keeps colliding points: the lower id wins the position, the other takes over when it leaves', async () => {
    await initHashing();
    // Find two points of different nodes on the same 32-bit position (a 1,000 × 160 ring has a few).
    const seen = new Map<number, [string, number]>();
    let pair: { a: string; b: string; position: number; index: number } | undefined;
    for (let n = 0; n < 1000 && pair === undefined; n++) {
      for (let i = 0; i < 160; i++) {
        const id = `node-${n}`;
        const position = xxh32(`${id}#${i}`);
        const other = seen.get(position);
        if (other !== undefined && other[0] !== id) {
          pair = { a: other[0] < id ? other[0] : id, b: other[0] < id ? id : other[0], position, index: i };
          break;
        }
        seen.set(position, [id, i]);
      }
    }
    expect(pair).toBeDefined();
    if (pair === undefined) return;
    const { a, b, position } = pair;
    const one = await HashRing.create({ nodes: [a, b] });
    const two = await HashRing.create({ nodes: [b, a] });
    expect(one.points).toBe(320); // nothing overwritten
    // Keys just before the shared position land on it: find some by search.
    const model = new RingModel(
      [
        { id: a, weight: 1 },
        { id: b, weight: 1 },
      ],
      160,
    );
    const at = model.points.findIndex((p) => p.position === position);
    const previous = (model.points[at - 1] ?? model.points[model.points.length - 1])?.position as number;
    const inArc: string[] = [];
    for (let i = 0; inArc.length < 3 && i < 500_000; i++) {
      const h = xxh32(`probe-${i}`);
      const inside = previous < position ? h > previous && h <= position : h > previous || h <= position;
      if (inside) inArc.push(`probe-${i}`);
    }
    expect(inArc.length).toBe(3);
    // The same whether the ring was built in one go or node by node, in either order.
    const three = await HashRing.create({ nodes: [b] });
    three.add(a);
    const four = await HashRing.create({ nodes: [a] });
    four.add(b);
    expect(three.points).toBe(320);
    for (const key of inArc) {
      for (const ring of [one, two, three, four]) expect(ring.get(key)).toBe(a);
      expect(one.getN(key, 2)).toEqual([a, b]);
    }
    one.remove(a);
    expect(one.points).toBe(160);
    for (const key of inArc) expect(one.get(key)).toBe(b);
  });

  it('switches to 32-bit owner indices past 65,536 nodes and still routes as the model', async () => {
    const nodes = nodeIds(70_000);
    const ring = await HashRing.create({ nodes, virtualNodes: 1 });
    const model = new RingModel(
      nodes.map((id) => ({ id, weight: 1 })),
      1,
    );
    for (const key of keys.slice(0, 200)) expect(ring.get(key)).toBe(model.get(key));
    ring.remove('node-69999');
    ring.add('node-x');
    expect(ring.size).toBe(70_000);
  });

  it('routes bytes like the same UTF-8 string', async () => {
    const ring = await HashRing.create({ nodes: nodeIds(5) });
    const encoder = new TextEncoder();
    for (const key of ['a', 'order-17', 'ümlaut', '']) {
      expect(ring.get(encoder.encode(key))).toBe(ring.get(key));
      expect(ring.getN(encoder.encode(key), 3)).toEqual(ring.getN(key, 3));
    }
  });

  it('gives weighted nodes shares proportional to their weights, within the ring’s own variance', async () => {
    const many = orderKeys(40_000, 'w-');
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 99 }), { minLength: 2, maxLength: 5 }),
        fc.array(fc.constantFrom(0.5, 1, 2, 4), { minLength: 5, maxLength: 5 }),
        async (ids, weights) => {
          const nodes: NodeInput[] = ids.map((id, i) => ({ id: `n${id}`, weight: weights[i] as number }));
          const virtualNodes = 1000;
          const ring = await HashRing.create({ nodes, virtualNodes });
          const total = ids.reduce((sum, _, i) => sum + (weights[i] as number), 0);
          const got = counts(ring, many);
          ids.forEach((id, i) => {
            const w = weights[i] as number;
            const share = w / total;
            const observed = (got.get(`n${id}`) ?? 0) / many.length / share;
            // Ring variance (1/√points) plus sampling noise, 4 standard deviations.
            const sd = Math.sqrt(1 / (virtualNodes * w) + 1 / (many.length * share));
            expect(Math.abs(observed - 1)).toBeLessThan(4 * sd);
          });
        },
      ),
      { numRuns: 15 },
    );
  });

  it('reports weights, nodes in insertion order, and clones independently', async () => {
    const ring = await HashRing.create({ nodes: ['b', { id: 'a', weight: 2 }] });
    ring.add('c');
    expect(ring.nodes()).toEqual(['b', 'a', 'c']);
    expect(ring.weightOf('a')).toBe(2);
    expect(ring.points).toBe(160 * 4);
    const copy = ring.clone();
    copy.remove('a');
    expect(ring.has('a')).toBe(true);
    expect(copy.has('a')).toBe(false);
    expect(isUnknownNodeError(thrown(() => ring.weightOf('zz')))).toBe(true);
  });

  it('moves about 1/(n+1) of the keys on add at 160 points', async () => {
    const ring = await HashRing.create({ nodes: nodeIds(20) });
    const after = ring.clone();
    after.add('node-20');
    const diff = compareRouting(ring, after, orderKeys(20_000));
    // 160 points: the new node's share has a 7.9 % standard deviation; 4 sd of slack.
    expect(diff.fraction * 21).toBeGreaterThan(1 - 4 * 0.079 - 0.05);
    expect(diff.fraction * 21).toBeLessThan(1 + 4 * 0.079 + 0.05);
  });
});

describe('HashRing bad input', () => {
  it('rejects bad options at creation, naming them', async () => {
    const cases: [unknown, string][] = [
      [{ virtualNodes: 0 }, 'options.virtualNodes'],
      [{ virtualNodes: 1.5 }, 'options.virtualNodes'],
      [{ virtualNodes: -160 }, 'options.virtualNodes'],
      [{ virtualNodes: 1e9 }, 'options.virtualNodes'],
      [{ nodes: 'a' }, 'options.nodes'],
      [{ nodes: [''] }, 'options.nodes[0]'],
      [{ nodes: ['a', 7] }, 'options.nodes[1]'],
      [{ nodes: [{ id: 'a', weight: 0 }] }, 'options.nodes[0].weight'],
      [{ nodes: [{ id: 'a', weight: -1 }] }, 'options.nodes[0].weight'],
      [{ nodes: [{ id: 'a', weight: Number.NaN }] }, 'options.nodes[0].weight'],
      [{ nodes: [{ id: 'a', weight: 0.001 }] }, 'options.nodes[0].weight'],
      [{ nodes: [{ id: 'a', weight: 1e9 }] }, 'options.nodes[0]'],
      [{ nodes: [{ weight: 1 }] }, 'options.nodes[0].id'],
      ['nodes', 'options'],
    ];
    for (const [options, argument] of cases) {
      const error = await HashRing.create(options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isValidationError(error), JSON.stringify(options)).toBe(true);
      if (isValidationError(error)) expect(error.argument).toBe(argument);
    }
    await expect(HashRing.create({ nodes: ['a', { id: 'a' }] })).rejects.toSatisfy(isDuplicateNodeError);
  });

  it('throws typed errors on bad calls and leaves the ring exactly as it was', async () => {
    const ring = await HashRing.create({ nodes: ['a', 'b', 'c'] });
    const before = snapshot(ring, keys);
    const points = ring.points;
    const attempts: [() => unknown, (e: unknown) => boolean][] = [
      [() => ring.add('b'), isDuplicateNodeError],
      [() => ring.add({ id: 'c', weight: 3 }), isDuplicateNodeError],
      [() => ring.add({ id: 'd', weight: 0 }), isValidationError],
      [() => ring.add({ id: 'd', weight: 1e12 }), isValidationError],
      [() => ring.add(''), isValidationError],
      [() => ring.add(null as unknown as string), isValidationError],
      [() => ring.remove('zz'), isUnknownNodeError],
      [() => ring.remove(3 as unknown as string), isValidationError],
      [() => ring.get(3 as unknown as string), isValidationError],
      [() => ring.getN('k', 0), isValidationError],
      [() => ring.getN('k', 1.5), isValidationError],
      [() => ring.getN('k', -2), isValidationError],
      [() => ring.getN('k', Number.NaN), isValidationError],
    ];
    for (const [attempt, guard] of attempts) {
      expect(guard(thrown(attempt))).toBe(true);
      expect(snapshot(ring, keys)).toEqual(before);
      expect(ring.points).toBe(points);
    }
  });

  it('throws EmptyRingError on lookups on an empty ring, and works again once a node is added', async () => {
    const ring = await HashRing.create();
    expect(isEmptyRingError(thrown(() => ring.get('k')))).toBe(true);
    expect(isEmptyRingError(thrown(() => ring.getN('k', 2)))).toBe(true);
    ring.add('x');
    expect(ring.getN('k', 5)).toEqual(['x']);
    ring.remove('x');
    expect(isEmptyRingError(thrown(() => ring.get('k')))).toBe(true);
  });
});
