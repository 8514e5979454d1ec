import { describe, expectTypeOf, it } from 'vitest';
import type { Subscribe } from '../../src/core/index.js';
import {
  type ConfirmedReservation,
  type ExpiredReservation,
  type HeldReservation,
  Inventory,
  type InventoryOptions,
  type InventoryStore,
  isInsufficientStockError,
  MemoryInventoryStore,
  type ReleasedReservation,
  type Reservation,
  type ReservationEvent,
  type ReservationState,
  type ReserveOutcome,
  type StockShortfall,
  type StockShortfallEvent,
} from '../../src/inventory/index.js';

describe('inventory types', () => {
  it('reservation state is a discriminated union', () => {
    expectTypeOf<ReservationState>().toEqualTypeOf<'held' | 'confirmed' | 'released' | 'expired'>();
    const narrow = (r: Reservation): number | undefined => {
      if (r.state === 'confirmed') {
        expectTypeOf(r).toEqualTypeOf<ConfirmedReservation>();
        return r.confirmedAt;
      }
      if (r.state === 'released') return r.releasedAt;
      // @ts-expect-error only confirmed reservations have confirmedAt
      return r.confirmedAt;
    };
    expectTypeOf(narrow).returns.toEqualTypeOf<number | undefined>();
  });

  it('operations return the states they can produce', () => {
    const inventory = new Inventory();
    expectTypeOf(inventory.reserve).returns.resolves.toEqualTypeOf<HeldReservation | ConfirmedReservation>();
    expectTypeOf(inventory.confirm).returns.resolves.toEqualTypeOf<ConfirmedReservation>();
    expectTypeOf(inventory.release).returns.resolves.toEqualTypeOf<ReleasedReservation | ExpiredReservation>();
    expectTypeOf(inventory.extend).returns.resolves.toEqualTypeOf<HeldReservation>();
    expectTypeOf(inventory.reservation).returns.resolves.toEqualTypeOf<Reservation | undefined>();
    expectTypeOf(inventory.tryReserve).returns.resolves.toEqualTypeOf<ReserveOutcome>();
  });

  it('tryReserve outcomes narrow on ok', () => {
    const use = (o: ReserveOutcome): void => {
      if (o.ok) expectTypeOf(o.reservation).toEqualTypeOf<HeldReservation | ConfirmedReservation>();
      else expectTypeOf(o.shortfalls).toEqualTypeOf<readonly StockShortfall[]>();
    };
    expectTypeOf(use).toBeFunction();
  });

  it('events are typed and disposable', () => {
    const inventory = new Inventory();
    expectTypeOf(inventory.onExpired).toEqualTypeOf<Subscribe<ReservationEvent<ExpiredReservation>>>();
    expectTypeOf(inventory.onShortfall).toEqualTypeOf<Subscribe<StockShortfallEvent>>();
    expectTypeOf(inventory.onReserved(() => {})).toHaveProperty('dispose');
  });

  it('options and data are readonly; the memory store is an InventoryStore', () => {
    expectTypeOf<InventoryOptions['store']>().toEqualTypeOf<InventoryStore | undefined>();
    expectTypeOf(new MemoryInventoryStore()).toMatchTypeOf<InventoryStore>();
    const options: InventoryOptions = { holdTtl: 1 };
    // @ts-expect-error options are readonly
    options.holdTtl = 2;
    const r = {} as HeldReservation;
    // @ts-expect-error reservations are readonly
    r.state = 'confirmed';
    // @ts-expect-error allocations are readonly arrays
    r.allocations.push({ sku: 'a', location: 'b', qty: 1 });
  });

  it('error guards narrow unknown', () => {
    const e: unknown = undefined;
    if (isInsufficientStockError(e)) expectTypeOf(e.shortfalls).toEqualTypeOf<readonly StockShortfall[]>();
  });
});
