/**
 * The bug this block exists to prevent, as an `InventoryStore`: each reservation reads the free stock,
 * awaits (a database round trip), then writes the hold from what it read. Every operation is correct on its
 * own and wrong under concurrency: two buyers read the same last unit and both get it. Used by the tests
 * to show that the flash-sale harness does catch oversell.
 */
import {
  type ConfirmedReservation,
  type ExpiredReservation,
  type HeldReservation,
  type InventorySnapshot,
  type InventoryStore,
  type InventoryStoreAdjustInput,
  type InventoryStoreExtendInput,
  type InventoryStorePolicyInput,
  type InventoryStoreReservationInput,
  type InventoryStoreReserveInput,
  type InventoryStoreReserveResult,
  type InventoryStoreRestockInput,
  type InventoryStoreSkuInput,
  type InventoryStoreSweepInput,
  type InventoryStoreTime,
  type InventoryStoreTransition,
  type InventorySweepResult,
  type LocationStock,
  type ReleasedReservation,
  type Reservation,
  ReservationNotFoundError,
  ReservationStateError,
  type SkuAvailability,
  type StockAllocation,
  type StockPolicy,
} from '../../../src/inventory/index.js';

interface Row {
  location: string;
  onHand: number;
  held: number;
  committed: number;
  received: number;
  adjusted: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One awaited round trip to the "database". */
const roundTrip = (): Promise<void> => Promise.resolve();

export class CheckThenActStore implements InventoryStore {
  readonly #stock = new Map<string, Row[]>();
  readonly #policy = new Map<string, StockPolicy>();
  readonly #records = new Map<string, Mutable<Reservation>>();

  #rows(sku: string): Row[] {
    let rows = this.#stock.get(sku);
    if (rows === undefined) {
      rows = [];
      this.#stock.set(sku, rows);
    }
    return rows;
  }

  async restock(input: InventoryStoreRestockInput): Promise<LocationStock> {
    const rows = this.#rows(input.sku);
    let row = rows.find((r) => r.location === input.location);
    if (row === undefined) {
      row = { location: input.location, onHand: 0, held: 0, committed: 0, received: 0, adjusted: 0 };
      rows.push(row);
    }
    row.onHand += input.qty;
    row.received += input.qty;
    return { ...row };
  }

  async adjust(input: InventoryStoreAdjustInput): Promise<LocationStock> {
    const row = this.#rows(input.sku).find((r) => r.location === input.location) as Row;
    row.onHand += input.delta;
    row.adjusted += input.delta;
    return { ...row };
  }

  async setPolicy(input: InventoryStorePolicyInput): Promise<StockPolicy> {
    const policy = { safetyStock: input.safetyStock, backorderLimit: input.backorderLimit };
    this.#policy.set(input.sku, policy);
    return policy;
  }

  async reserve(input: InventoryStoreReserveInput): Promise<InventoryStoreReserveResult> {
    const demand = new Map<string, number>();
    for (const item of input.items) demand.set(item.sku, (demand.get(item.sku) ?? 0) + item.qty);
    const existing = this.#records.get(input.reservationId);
    if (existing !== undefined && (existing.state === 'held' || existing.state === 'confirmed')) {
      return { ok: true, reservation: existing as HeldReservation, created: false };
    }
    // Check: read the free stock of every SKU...
    const free = new Map<string, { location: string; free: number }[]>();
    for (const sku of demand.keys()) {
      free.set(
        sku,
        this.#rows(sku).map((r) => ({ location: r.location, free: r.onHand - r.held })),
      );
    }
    await roundTrip();
    const shortfalls = [...demand]
      .map(([sku, qty]) => {
        const available = (free.get(sku) ?? []).reduce((sum, r) => sum + Math.max(0, r.free), 0);
        return { sku, requested: qty, available, shortfall: qty - available };
      })
      .filter((s) => s.shortfall > 0);
    if (shortfalls.length > 0) return { ok: false, shortfalls };
    await roundTrip();
    // ...then act on what was read, as if nothing had happened in between.
    const allocations: StockAllocation[] = [];
    for (const [sku, qty] of demand) {
      let left = qty;
      for (const r of free.get(sku) ?? []) {
        const take = Math.min(left, Math.max(0, r.free));
        if (take === 0) continue;
        const row = this.#rows(sku).find((x) => x.location === r.location) as Row;
        row.held += take;
        allocations.push({ sku, location: r.location, qty: take });
        left -= take;
      }
    }
    const reservation: HeldReservation = {
      id: input.reservationId,
      state: 'held',
      items: [...demand].map(([sku, qty]) => ({ sku, qty })),
      allocations,
      createdAt: input.now,
      expiresAt: input.now + input.ttl,
    };
    this.#records.set(reservation.id, { ...reservation });
    return { ok: true, reservation, created: true };
  }

  #record(id: string): Mutable<Reservation> {
    const record = this.#records.get(id);
    if (record === undefined) throw new ReservationNotFoundError(id);
    return record;
  }

  #unhold(record: Reservation, commit: boolean): void {
    for (const a of record.allocations) {
      const row = this.#rows(a.sku).find((r) => r.location === a.location) as Row;
      row.held -= a.qty;
      if (commit) {
        row.onHand -= a.qty;
        row.committed += a.qty;
      }
    }
  }

  async confirm(input: InventoryStoreReservationInput): Promise<InventoryStoreTransition<ConfirmedReservation>> {
    const record = this.#record(input.reservationId);
    await roundTrip();
    if (record.state === 'confirmed') return { reservation: record, changed: false };
    if (record.state !== 'held') throw new ReservationStateError(record.id, record.state, 'confirm');
    this.#unhold(record, true);
    const confirmed: ConfirmedReservation = { ...record, state: 'confirmed', confirmedAt: input.now };
    this.#records.set(record.id, confirmed);
    return { reservation: confirmed, changed: true };
  }

  async release(
    input: InventoryStoreReservationInput,
  ): Promise<InventoryStoreTransition<ReleasedReservation | ExpiredReservation>> {
    const record = this.#record(input.reservationId);
    await roundTrip();
    if (record.state === 'released' || record.state === 'expired') return { reservation: record, changed: false };
    if (record.state !== 'held') throw new ReservationStateError(record.id, record.state, 'release');
    this.#unhold(record, false);
    const released: ReleasedReservation = { ...record, state: 'released', releasedAt: input.now };
    this.#records.set(record.id, released);
    return { reservation: released, changed: true };
  }

  async extend(input: InventoryStoreExtendInput): Promise<HeldReservation> {
    const record = this.#record(input.reservationId);
    if (record.state !== 'held') throw new ReservationStateError(record.id, record.state, 'extend');
    record.expiresAt = Math.max(record.expiresAt, input.now + input.ttl);
    return record;
  }

  async availability(input: InventoryStoreSkuInput): Promise<SkuAvailability> {
    const rows = this.#rows(input.sku);
    const policy = this.#policy.get(input.sku) ?? { safetyStock: 0, backorderLimit: 0 };
    const locations = rows.map((r) => ({
      location: r.location,
      onHand: r.onHand,
      held: r.held,
      committed: r.committed,
      available: r.onHand - r.held - policy.safetyStock,
    }));
    const sum = (f: (l: (typeof locations)[number]) => number): number => locations.reduce((t, l) => t + f(l), 0);
    return {
      sku: input.sku,
      ...policy,
      onHand: sum((l) => l.onHand),
      held: sum((l) => l.held),
      committed: sum((l) => l.committed),
      available: sum((l) => l.available),
      locations,
    };
  }

  async reservation(input: InventoryStoreReservationInput): Promise<Reservation | undefined> {
    return this.#records.get(input.reservationId);
  }

  /** Expires holds only when swept (no lazy expiry either). */
  async sweep(input: InventoryStoreSweepInput): Promise<InventorySweepResult> {
    const expired: ExpiredReservation[] = [];
    for (const record of this.#records.values()) {
      if (record.state === 'held' && record.expiresAt <= input.now) {
        this.#unhold(record, false);
        const gone: ExpiredReservation = { ...record, state: 'expired' };
        this.#records.set(record.id, gone);
        expired.push(gone);
      }
    }
    return { expired, purged: 0 };
  }

  async snapshot(input: InventoryStoreTime): Promise<InventorySnapshot> {
    return {
      at: input.now,
      skus: [...this.#stock].map(([sku, rows]) => ({
        sku,
        ...(this.#policy.get(sku) ?? { safetyStock: 0, backorderLimit: 0 }),
        locations: rows.map((r) => ({ ...r })),
      })),
      reservations: [...this.#records.values()],
    };
  }
}
