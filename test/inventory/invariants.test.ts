/**
 * The invariant checker must catch what it claims to: each corruption of a valid snapshot is reported
 * under the right invariant, and a valid snapshot reports nothing.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import {
  checkInventoryInvariants,
  Inventory,
  type InventoryInvariant,
  type InventorySnapshot,
} from '../../src/inventory/index.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

async function validSnapshot(): Promise<InventorySnapshot> {
  const clock = new ManualClock(0);
  const inventory = new Inventory({ clock, holdTtl: 100 });
  await inventory.setStockPolicy('A', { safetyStock: 1, backorderLimit: 2 });
  await inventory.restock('A', 5, { location: 'w1' });
  await inventory.restock('A', 3, { location: 'w2' });
  await inventory.restock('B', 4, { location: 'w1' });
  await inventory.reserve({
    reservationId: 'held',
    items: [
      { sku: 'A', qty: 6 },
      { sku: 'B', qty: 1 },
    ],
    split: true,
  });
  await inventory.reserve({ reservationId: 'done', items: [{ sku: 'B', qty: 2 }] });
  await inventory.confirm('done');
  await inventory.reserve({ reservationId: 'gone', items: [{ sku: 'A', qty: 1 }] });
  await inventory.release('gone');
  await inventory.adjust('B', -1, { location: 'w1' });
  return inventory.snapshot();
}

function corrupt(snapshot: InventorySnapshot, fn: (s: Mutable<InventorySnapshot>) => void): InventorySnapshot {
  const copy = structuredClone(snapshot) as Mutable<InventorySnapshot>;
  fn(copy);
  return copy;
}

function invariants(snapshot: InventorySnapshot): InventoryInvariant[] {
  return [...new Set(checkInventoryInvariants(snapshot).map((v) => v.invariant))].sort();
}

describe('checkInventoryInvariants', () => {
  it('reports nothing on a valid snapshot', async () => {
    const snapshot = await validSnapshot();
    expect(snapshot.reservations.map((r) => r.state)).toEqual(['held', 'confirmed', 'released']);
    expect(checkInventoryInvariants(snapshot)).toEqual([]);
  });

  const row = (s: Mutable<InventorySnapshot>, sku: number, location: number) =>
    s.skus[sku]?.locations[location] as Mutable<InventorySnapshot['skus'][number]['locations'][number]>;

  const cases: [string, (s: Mutable<InventorySnapshot>) => void, InventoryInvariant[]][] = [
    [
      'a hold counted twice in the held count',
      (s) => {
        row(s, 0, 0).held += 1;
      },
      ['holdAccounting'],
    ],
    [
      'a leaked hold (held units without a live reservation)',
      (s) => {
        s.reservations = s.reservations.filter((r) => r.id !== 'held');
      },
      ['holdAccounting'],
    ],
    [
      'units appearing from nowhere',
      (s) => {
        row(s, 1, 0).onHand += 1;
      },
      ['conservation'],
    ],
    [
      'held beyond on-hand plus the allowance',
      (s) => {
        const r = row(s, 0, 0);
        r.onHand -= 5;
        r.received -= 5;
      },
      ['overcommitted'],
    ],
    [
      'a negative held count',
      (s) => {
        const r = row(s, 1, 0);
        r.held = -1;
      },
      ['holdAccounting', 'nonNegative'],
    ],
    [
      'a fractional count',
      (s) => {
        row(s, 0, 1).committed = 0.5;
      },
      ['integral'],
    ],
    [
      'a hold still counting past its TTL',
      (s) => {
        s.at = 1_000;
      },
      ['staleHold'],
    ],
    [
      'a reservation id listed twice',
      (s) => {
        s.reservations = [...s.reservations, s.reservations[2] as never];
      },
      ['reservationShape'],
    ],
    [
      'allocations that do not add up to the items',
      (s) => {
        const held = s.reservations.find((r) => r.id === 'held') as Mutable<InventorySnapshot['reservations'][number]>;
        (held.items[0] as { qty: number }).qty += 1;
      },
      ['reservationShape'],
    ],
    [
      'confirmed reservations accounting for more than was committed',
      (s) => {
        const r = row(s, 1, 0);
        r.committed -= 1;
        r.onHand += 1;
      },
      ['commitAccounting'],
    ],
    [
      'a negative safety stock',
      (s) => {
        (s.skus[0] as { safetyStock: number }).safetyStock = -1;
      },
      ['nonNegative'],
    ],
    [
      'an allocation at a location that does not stock the SKU',
      (s) => {
        const held = s.reservations.find((r) => r.id === 'held') as Mutable<InventorySnapshot['reservations'][number]>;
        const b = held.allocations.find((a) => a.sku === 'B') as { location: string };
        b.location = 'w2';
      },
      ['holdAccounting'],
    ],
  ];

  it.each(cases)('catches %s', async (_name, fn, expected) => {
    const snapshot = await validSnapshot();
    expect(invariants(corrupt(snapshot, fn))).toEqual(expected);
  });

  it('names the SKU, location and reservation at fault', async () => {
    const snapshot = corrupt(await validSnapshot(), (s) => {
      row(s, 0, 1).held += 2;
    });
    const [violation] = checkInventoryInvariants(snapshot);
    expect(violation).toMatchObject({ invariant: 'holdAccounting', sku: 'A', location: 'w2' });
    expect(violation?.message).toContain('A at w2');
  });
});
