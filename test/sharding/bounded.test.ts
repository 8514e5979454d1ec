import fc from 'fast-check';
import { isValidationError } from 'system-design-blocks';
import {
  type BoundedLoadMove,
  BoundedLoadRing,
  HashRing,
  isDuplicateNodeError,
  isEmptyRingError,
  isUnknownNodeError,
  type NodeSpec,
} from 'system-design-blocks/sharding';
import { describe, expect, it } from 'vitest';
import { orderKeys, snapshot, thrown } from './helpers.js';

type Op =
  | { kind: 'assign'; key: number }
  | { kind: 'release'; key: number }
  | { kind: 'add'; node: NodeSpec }
  | { kind: 'remove'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('assign' as const), key: fc.nat(80) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), key: fc.nat(80) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      node: fc.record({ id: fc.stringMatching(/^n[0-9]{1,2}$/), weight: fc.constantFrom(1, 1, 2, 0.5) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
);

/** ⌈c · assigned · weight / total weight⌉, as documented. */
function cap(c: number, assigned: number, weight: number, total: number): number {
  return Math.ceil((c * assigned * weight) / total);
}

describe('BoundedLoadRing under random assign / release / add / remove sequences (model-based)', () => {
  it('never exceeds the cap, never refuses a key, places new keys at the first node with room clockwise, and reports every move', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1, 1.1, 1.25, 1.5, 2),
        fc.uniqueArray(fc.record({ id: fc.stringMatching(/^n[0-9]{1,2}$/), weight: fc.constantFrom(1, 1, 2) }), {
          minLength: 1,
          maxLength: 6,
          selector: (n) => n.id,
        }),
        fc.array(op, { minLength: 1, maxLength: 120 }),
        async (loadFactor, initial, ops) => {
          const virtualNodes = 16;
          const ring = await BoundedLoadRing.create({ nodes: initial, virtualNodes, loadFactor });
          // The same nodes on a plain ring: getN(key, size) is the clockwise walk assign must follow.
          const plain = await HashRing.create({ nodes: initial, virtualNodes });
          const weights = new Map<string, number>(initial.map((n) => [n.id, n.weight]));
          const model = new Map<string, string>();
          const moves: BoundedLoadMove[] = [];
          ring.onMove((m) => moves.push(m));

          for (const o of ops) {
            moves.length = 0;
            const assignedBefore = new Map(model);
            if (o.kind === 'assign') {
              const key = `k${o.key}`;
              if (weights.size === 0) {
                expect(isEmptyRingError(thrown(() => ring.assign(key)))).toBe(true);
                continue;
              }
              const known = model.get(key);
              const node = ring.assign(key);
              if (known !== undefined) {
                expect(node).toBe(known);
              } else {
                // First node clockwise whose load is below the cap counted with this key.
                const total = [...weights.values()].reduce((a, b) => a + b, 0);
                const loads = ring.loads();
                const expected = plain
                  .getN(key, plain.size)
                  .find(
                    (id) =>
                      (loads.get(id) as number) - (id === node ? 1 : 0) <
                      cap(loadFactor, model.size + 1, weights.get(id) as number, total),
                  );
                expect(node).toBe(expected);
                model.set(key, node);
              }
              expect(moves).toEqual([]);
            } else if (o.kind === 'release') {
              const key = `k${o.key}`;
              expect(ring.release(key)).toBe(model.delete(key));
              for (const m of moves) expect(m.reason).toBe('capacity');
            } else if (o.kind === 'add') {
              if (weights.has(o.node.id)) {
                expect(isDuplicateNodeError(thrown(() => ring.add(o.node)))).toBe(true);
                continue;
              }
              ring.add(o.node);
              plain.add(o.node);
              weights.set(o.node.id, o.node.weight ?? 1);
              for (const m of moves) expect(m.reason).toBe('capacity');
            } else {
              const ids = [...weights.keys()];
              if (ids.length === 0) continue;
              const gone = ids[o.pick % ids.length] as string;
              const held = [...model.values()].filter((n) => n === gone).length;
              if (ids.length === 1 && held > 0) {
                const before = snapshot(ring, []);
                expect(isEmptyRingError(thrown(() => ring.remove(gone)))).toBe(true);
                expect(snapshot(ring, [])).toEqual(before);
                expect(ring.assigned).toBe(model.size);
                continue;
              }
              ring.remove(gone);
              plain.remove(gone);
              weights.delete(gone);
              expect(moves.length).toBe(held);
              for (const m of moves) {
                expect(m.reason).toBe('nodeRemoved');
                expect(m.from).toBe(gone);
              }
            }
            // Apply the reported moves to the model; each must start where the model had the key.
            for (const m of moves) {
              const key = m.key as string;
              expect(assignedBefore.get(key) ?? model.get(key)).toBe(m.from);
              expect(m.to).not.toBe(m.from);
              model.set(key, m.to);
            }
            // Invariants after every step.
            expect(ring.assigned).toBe(model.size);
            const total = [...weights.values()].reduce((a, b) => a + b, 0);
            const loads = ring.loads();
            expect([...loads.keys()]).toEqual([...weights.keys()]);
            let sum = 0;
            for (const [id, load] of loads) {
              sum += load;
              expect(load).toBeLessThanOrEqual(cap(loadFactor, model.size, weights.get(id) as number, total));
              expect(ring.capacity(id)).toBe(cap(loadFactor, model.size, weights.get(id) as number, total));
            }
            expect(sum).toBe(model.size);
            for (const [key, node] of model) expect(ring.assignedTo(key)).toBe(node);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('BoundedLoadRing', () => {
  it('spills a hot node over to the next ones instead of overloading it', async () => {
    const ring = await BoundedLoadRing.create({ nodes: ['a', 'b', 'c', 'd'], loadFactor: 1.25 });
    const plain = await HashRing.create({ nodes: ['a', 'b', 'c', 'd'] });
    // Keys that all hash to node a on the plain ring: a hot spot.
    const hot = orderKeys(20_000)
      .filter((k) => plain.get(k) === 'a')
      .slice(0, 400);
    for (const key of hot) ring.assign(key);
    const loads = ring.loads();
    expect(loads.get('a')).toBe(Math.ceil((1.25 * 400) / 4));
    expect([...loads.values()].reduce((x, y) => x + y, 0)).toBe(400);
    for (const load of loads.values()) expect(load).toBeLessThanOrEqual(125);
  });

  it('with c = 1 keeps loads perfectly balanced', async () => {
    const ring = await BoundedLoadRing.create({ nodes: ['a', 'b', 'c'], loadFactor: 1 });
    for (const key of orderKeys(300)) ring.assign(key);
    expect([...ring.loads().values()]).toEqual([100, 100, 100]);
  });

  it('is idempotent on assign, tells whether release found the key, and keeps bytes and strings apart', async () => {
    const ring = await BoundedLoadRing.create({ nodes: ['a', 'b'] });
    const node = ring.assign('order-1');
    expect(ring.assign('order-1')).toBe(node);
    expect(ring.assigned).toBe(1);
    const bytes = new TextEncoder().encode('order-1');
    expect(ring.assignedTo(bytes)).toBeUndefined();
    ring.assign(bytes);
    bytes[0] = 0; // the ring copied the key
    expect(ring.assignedTo(new TextEncoder().encode('order-1'))).toBeDefined();
    expect(ring.assigned).toBe(2);
    expect(ring.release('order-1')).toBe(true);
    expect(ring.release('order-1')).toBe(false);
    expect(ring.release(new TextEncoder().encode('order-1'))).toBe(true);
    expect(ring.assigned).toBe(0);
  });

  it('get returns the assigned node, or where assign would go, without assigning', async () => {
    const ring = await BoundedLoadRing.create({ nodes: ['a', 'b', 'c'] });
    const peek = ring.get('order-9');
    expect(ring.assigned).toBe(0);
    expect(ring.assign('order-9')).toBe(peek);
    expect(ring.get('order-9')).toBe(peek);
  });

  it('clones with its assignments, independently, without listeners', async () => {
    const ring = await BoundedLoadRing.create({ nodes: ['a', 'b', 'c'], loadFactor: 1 });
    const moves: BoundedLoadMove[] = [];
    ring.onMove((m) => moves.push(m));
    for (const key of orderKeys(30)) ring.assign(key);
    ring.assign(new Uint8Array([1, 2, 3]));
    const copy = ring.clone();
    expect(copy.loads()).toEqual(ring.loads());
    for (const key of orderKeys(30)) expect(copy.assignedTo(key)).toBe(ring.assignedTo(key));
    expect(copy.assignedTo(new Uint8Array([1, 2, 3]))).toBe(ring.assignedTo(new Uint8Array([1, 2, 3])));
    copy.remove('a');
    expect(moves).toEqual([]);
    expect(ring.has('a')).toBe(true);
    expect(copy.assigned).toBe(31);
  });

  it('stops reporting moves to a disposed listener', async () => {
    const ring = await BoundedLoadRing.create({ nodes: ['a', 'b'] });
    const seen: BoundedLoadMove[] = [];
    const subscription = ring.onMove((m) => seen.push(m));
    for (const key of orderKeys(10)) ring.assign(key);
    ring.remove('a');
    const count = seen.length;
    expect(count).toBeGreaterThan(0);
    subscription.dispose();
    ring.add('a');
    ring.remove('b');
    expect(seen.length).toBe(count);
  });
});

describe('BoundedLoadRing bad input', () => {
  it('rejects a load factor below 1 and other bad options, naming them', async () => {
    const cases: [unknown, string][] = [
      [{ loadFactor: 0.99 }, 'options.loadFactor'],
      [{ loadFactor: 0 }, 'options.loadFactor'],
      [{ loadFactor: Number.NaN }, 'options.loadFactor'],
      [{ loadFactor: '1.25' }, 'options.loadFactor'],
      [{ virtualNodes: 0 }, 'options.virtualNodes'],
      [{ nodes: [{ id: 'a', weight: -1 }] }, 'options.nodes[0].weight'],
    ];
    for (const [options, argument] of cases) {
      const error = await BoundedLoadRing.create(options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isValidationError(error) && error.argument).toBe(argument);
    }
    await expect(BoundedLoadRing.create({ nodes: ['a', 'a'] })).rejects.toSatisfy(isDuplicateNodeError);
  });

  it('throws typed errors on bad calls and leaves the ring and its loads as they were', async () => {
    const ring = await BoundedLoadRing.create({ nodes: ['a', 'b'] });
    for (const key of orderKeys(20)) ring.assign(key);
    const keys = orderKeys(50);
    const before = { ...(snapshot(ring, keys) as object), loads: ring.loads(), assigned: ring.assigned };
    const attempts: [() => unknown, (e: unknown) => boolean][] = [
      [() => ring.add('a'), isDuplicateNodeError],
      [() => ring.add({ id: 'c', weight: 0 }), isValidationError],
      [() => ring.remove('c'), isUnknownNodeError],
      [() => ring.capacity('c'), isUnknownNodeError],
      [() => ring.assign(7 as unknown as string), isValidationError],
      [() => ring.release([] as unknown as string), isValidationError],
    ];
    for (const [attempt, guard] of attempts) {
      expect(guard(thrown(attempt))).toBe(true);
      expect({ ...(snapshot(ring, keys) as object), loads: ring.loads(), assigned: ring.assigned }).toEqual(before);
    }
  });

  it('refuses to remove the last node while it holds keys, and throws EmptyRingError on an empty ring', async () => {
    const ring = await BoundedLoadRing.create({ nodes: ['only'] });
    ring.assign('k');
    expect(isEmptyRingError(thrown(() => ring.remove('only')))).toBe(true);
    expect(ring.assignedTo('k')).toBe('only');
    ring.release('k');
    ring.remove('only');
    expect(isEmptyRingError(thrown(() => ring.assign('k')))).toBe(true);
    expect(isEmptyRingError(thrown(() => ring.get('k')))).toBe(true);
  });
});
