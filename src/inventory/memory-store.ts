/**
 * The in-process {@link InventoryStore}: every operation runs to completion without awaiting, so it is
 * atomic with respect to every other caller in the process.
 */
import { invalid } from '../core/validation.js';
import { allocate, firstLine, type PlacementSink, sumDemand } from './allocation.js';
import {
  ReservationConflictError,
  ReservationExpiredError,
  ReservationNotFoundError,
  ReservationStateError,
  StockConflictError,
  sameItems,
} from './errors.js';
import { type HeapItem, IndexedHeap } from './heap.js';
import type {
  ConfirmedReservation,
  ExpiredReservation,
  HeldReservation,
  InventorySnapshot,
  InventoryStore,
  InventoryStoreAdjustInput,
  InventoryStoreExtendInput,
  InventoryStorePolicyInput,
  InventoryStoreReservationInput,
  InventoryStoreReserveInput,
  InventoryStoreReserveResult,
  InventoryStoreRestockInput,
  InventoryStoreSkuInput,
  InventoryStoreSweepInput,
  InventoryStoreTime,
  InventoryStoreTransition,
  InventorySweepResult,
  LocationStock,
  ReleasedReservation,
  Reservation,
  ReservationItem,
  ReservationState,
  SkuAvailability,
  StockAllocation,
  StockPolicy,
  StockShortfall,
} from './types.js';

interface Row {
  readonly sku: string;
  readonly location: string;
  onHand: number;
  held: number;
  committed: number;
  received: number;
  adjusted: number;
}

interface SkuRow {
  readonly sku: string;
  safetyStock: number;
  backorderLimit: number;
  readonly byLocation: Map<string, Row>;
  /** Rows in the order the locations were first stocked: the default priority order. */
  readonly rows: Row[];
}

interface Held extends HeapItem {
  readonly id: string;
  state: ReservationState;
  readonly items: readonly ReservationItem[];
  readonly allocations: readonly StockAllocation[];
  /** The stock row of each allocation, same order. */
  readonly rows: readonly Row[];
  readonly createdAt: number;
  expiresAt: number;
  /** When it reached a final state (confirmedAt, releasedAt or expiresAt); NaN while held. */
  endedAt: number;
  view: Reservation | undefined;
}

// Module-level so that building a reservation allocates no closures.
function frozenItem(item: ReservationItem): ReservationItem {
  return Object.freeze({ sku: item.sku, qty: item.qty });
}

function frozenAllocation(this: readonly number[], row: Row, p: number): StockAllocation {
  return Object.freeze({ sku: row.sku, location: row.location, qty: this[p] as number });
}

function rowView(row: Row): LocationStock {
  return Object.freeze({
    location: row.location,
    onHand: row.onHand,
    held: row.held,
    committed: row.committed,
    received: row.received,
    adjusted: row.adjusted,
  });
}

/**
 * The default {@link InventoryStore}: stock and reservations in memory, each operation atomic because it
 * never awaits. Expired holds are settled lazily by whichever operation comes next (a heap of expiry times
 * makes that O(log n) per hold) and reported by the next `sweep`; final reservations are kept until the
 * sweep's `purgeBefore` passes their end, so run `Inventory.sweepExpired` (or `runSweeper`) to bound memory.
 *
 * @example
 * ```ts
 * import { Inventory, MemoryInventoryStore } from 'system-design-blocks/inventory';
 *
 * const store = new MemoryInventoryStore();
 * const inventory = new Inventory({ store });
 * await inventory.restock('tv-55', 10, { location: 'incheon' });
 * console.log((await store.snapshot({ now: 0 })).skus[0]?.locations[0]?.onHand); // 10
 * ```
 */
export class MemoryInventoryStore implements InventoryStore {
  #now = Number.NEGATIVE_INFINITY;
  readonly #skus = new Map<string, SkuRow>();
  readonly #locations = new Set<string>();
  readonly #records = new Map<string, Held>();
  /** Live holds by expiry; a hold leaves it the moment it is confirmed, released or expired. */
  readonly #expiries = new IndexedHeap<Held>();
  /**
   * Ended reservations in the order they ended. Store time only moves forward and every hold in the heap
   * expires after the time of the last operation, so end times arrive sorted and a queue suffices.
   */
  #ended: Held[] = [];
  #endedHead = 0;
  #unannounced: ExpiredReservation[] = [];
  /** Placements of the reservation being placed; reused because an operation never awaits. */
  readonly #sink: PlacementSink<Row> = { rows: [], quantities: [], count: 0 };

  /** {@inheritDoc InventoryStore.restock} */
  async restock(input: InventoryStoreRestockInput): Promise<LocationStock> {
    this.#advance(input.now);
    let sku = this.#skus.get(input.sku);
    if (sku === undefined) {
      sku = { sku: input.sku, safetyStock: 0, backorderLimit: 0, byLocation: new Map(), rows: [] };
      this.#skus.set(input.sku, sku);
    }
    let row = sku.byLocation.get(input.location);
    if (row === undefined) {
      row = { sku: input.sku, location: input.location, onHand: 0, held: 0, committed: 0, received: 0, adjusted: 0 };
      sku.byLocation.set(input.location, row);
      sku.rows.push(row);
      this.#locations.add(input.location);
    }
    row.onHand += input.qty;
    row.received += input.qty;
    return rowView(row);
  }

  /** {@inheritDoc InventoryStore.adjust} */
  async adjust(input: InventoryStoreAdjustInput): Promise<LocationStock> {
    this.#advance(input.now);
    const sku = this.#sku(input.sku, 'sku');
    const row = sku.byLocation.get(input.location);
    if (row === undefined) {
      return invalid('options.location', `a location that stocks ${JSON.stringify(input.sku)}`, input.location);
    }
    if (input.delta < 0 && row.onHand + input.delta < row.held) {
      throw new StockConflictError(
        'adjust',
        input.sku,
        input.location,
        row.onHand,
        row.held,
        `removing ${-input.delta}`,
      );
    }
    row.onHand += input.delta;
    row.adjusted += input.delta;
    return rowView(row);
  }

  /** {@inheritDoc InventoryStore.setPolicy} */
  async setPolicy(input: InventoryStorePolicyInput): Promise<StockPolicy> {
    this.#advance(input.now);
    const sku = this.#skus.get(input.sku);
    if (sku !== undefined) {
      for (const row of sku.rows) {
        if (row.held - row.onHand > input.backorderLimit) {
          throw new StockConflictError(
            'setStockPolicy',
            input.sku,
            row.location,
            row.onHand,
            row.held,
            `a backorder allowance of ${input.backorderLimit}`,
          );
        }
      }
      sku.safetyStock = input.safetyStock;
      sku.backorderLimit = input.backorderLimit;
    } else {
      this.#skus.set(input.sku, {
        sku: input.sku,
        safetyStock: input.safetyStock,
        backorderLimit: input.backorderLimit,
        byLocation: new Map(),
        rows: [],
      });
    }
    return Object.freeze({ safetyStock: input.safetyStock, backorderLimit: input.backorderLimit });
  }

  /** {@inheritDoc InventoryStore.reserve} */
  async reserve(input: InventoryStoreReserveInput): Promise<InventoryStoreReserveResult> {
    const now = this.#advance(input.now);
    const demand = sumDemand(input.items);
    const existing = this.#records.get(input.reservationId);
    if (existing !== undefined) return this.#replay(existing, demand);

    const locations = input.locations;
    if (locations !== undefined) {
      for (let j = 0; j < locations.length; j++) {
        const location = locations[j] as string;
        if (!this.#locations.has(location)) invalid(`locations[${j}]`, 'a location the inventory knows', location);
      }
    }

    // Place every SKU's demand (nothing changes yet); an unknown SKU fails the whole call.
    const sink = this.#sink;
    sink.count = 0;
    let shortfalls: StockShortfall[] | undefined;
    for (const d of demand) {
      const sku = this.#skus.get(d.sku);
      if (sku === undefined) {
        return invalid(
          `items[${firstLine(input.items, d.sku)}].sku`,
          'a SKU the inventory knows (restock it first)',
          d.sku,
        );
      }
      let candidates: readonly Row[] = sku.rows;
      if (locations !== undefined) {
        const chosen: Row[] = [];
        for (const location of locations) {
          const row = sku.byLocation.get(location);
          if (row !== undefined) chosen.push(row);
        }
        candidates = chosen;
      }
      const available = allocate(d.qty, candidates, sku, input.strategy, input.split, sink);
      if (available >= 0) {
        const short: StockShortfall = { sku: d.sku, requested: d.qty, available, shortfall: d.qty - available };
        if (shortfalls === undefined) shortfalls = [];
        shortfalls.push(Object.freeze(short));
      }
    }
    if (shortfalls !== undefined) return { ok: false, shortfalls: Object.freeze(shortfalls) };

    // Every check passed: apply the whole reservation. Arrays are built at their exact size.
    const items = Object.freeze(demand.map(frozenItem));
    const rows = sink.rows.slice(0, sink.count);
    const allocations = Object.freeze(rows.map(frozenAllocation, sink.quantities));
    for (let p = 0; p < rows.length; p++) (rows[p] as Row).held += sink.quantities[p] as number;
    sink.rows.fill(undefined as unknown as Row, 0, sink.count); // drop references to rows
    const expiresAt = now + input.ttl;
    const record: Held = {
      id: input.reservationId,
      state: 'held',
      items,
      allocations,
      rows,
      createdAt: now,
      expiresAt,
      endedAt: Number.NaN,
      view: undefined,
      heapKey: expiresAt,
      heapIndex: -1,
    };
    this.#records.set(record.id, record);
    this.#expiries.push(record);
    return { ok: true, reservation: this.#view(record) as HeldReservation, created: true };
  }

  /** {@inheritDoc InventoryStore.confirm} */
  async confirm(input: InventoryStoreReservationInput): Promise<InventoryStoreTransition<ConfirmedReservation>> {
    const now = this.#advance(input.now);
    const record = this.#record(input.reservationId);
    switch (record.state) {
      case 'confirmed':
        return { reservation: this.#view(record) as ConfirmedReservation, changed: false };
      case 'expired':
        throw new ReservationExpiredError(record.id, record.expiresAt);
      case 'released':
        throw new ReservationStateError(record.id, record.state, 'confirm');
      default: {
        const { allocations, rows } = record;
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i] as Row;
          const qty = (allocations[i] as StockAllocation).qty;
          row.held -= qty;
          row.onHand -= qty;
          row.committed += qty;
        }
        this.#end(record, 'confirmed', now);
        return { reservation: this.#view(record) as ConfirmedReservation, changed: true };
      }
    }
  }

  /** {@inheritDoc InventoryStore.release} */
  async release(
    input: InventoryStoreReservationInput,
  ): Promise<InventoryStoreTransition<ReleasedReservation | ExpiredReservation>> {
    const now = this.#advance(input.now);
    const record = this.#record(input.reservationId);
    switch (record.state) {
      case 'released':
      case 'expired':
        return { reservation: this.#view(record) as ReleasedReservation | ExpiredReservation, changed: false };
      case 'confirmed':
        throw new ReservationStateError(record.id, record.state, 'release');
      default:
        this.#unhold(record);
        this.#end(record, 'released', now);
        return { reservation: this.#view(record) as ReleasedReservation, changed: true };
    }
  }

  /** {@inheritDoc InventoryStore.extend} */
  async extend(input: InventoryStoreExtendInput): Promise<HeldReservation> {
    const now = this.#advance(input.now);
    const record = this.#record(input.reservationId);
    if (record.state === 'expired') throw new ReservationExpiredError(record.id, record.expiresAt);
    if (record.state !== 'held') throw new ReservationStateError(record.id, record.state, 'extend');
    if (now + input.ttl > record.expiresAt) {
      record.expiresAt = now + input.ttl;
      record.heapKey = record.expiresAt;
      record.view = undefined;
      this.#expiries.update(record);
    }
    return this.#view(record) as HeldReservation;
  }

  /** {@inheritDoc InventoryStore.availability} */
  async availability(input: InventoryStoreSkuInput): Promise<SkuAvailability> {
    this.#advance(input.now);
    const sku = this.#sku(input.sku, 'sku');
    let onHand = 0;
    let held = 0;
    let committed = 0;
    let available = 0;
    const locations = sku.rows.map((row) => {
      const free = row.onHand - row.held - sku.safetyStock;
      onHand += row.onHand;
      held += row.held;
      committed += row.committed;
      available += free;
      return Object.freeze({
        location: row.location,
        onHand: row.onHand,
        held: row.held,
        committed: row.committed,
        available: free,
      });
    });
    return Object.freeze({
      sku: sku.sku,
      safetyStock: sku.safetyStock,
      backorderLimit: sku.backorderLimit,
      onHand,
      held,
      committed,
      available,
      locations: Object.freeze(locations),
    });
  }

  /** {@inheritDoc InventoryStore.reservation} */
  async reservation(input: InventoryStoreReservationInput): Promise<Reservation | undefined> {
    this.#advance(input.now);
    const record = this.#records.get(input.reservationId);
    return record === undefined ? undefined : this.#view(record);
  }

  /** {@inheritDoc InventoryStore.sweep} */
  async sweep(input: InventoryStoreSweepInput): Promise<InventorySweepResult> {
    this.#advance(input.now);
    let purged = 0;
    const ended = this.#ended;
    let head = this.#endedHead;
    while (head < ended.length && (ended[head] as Held).endedAt <= input.purgeBefore) {
      const record = ended[head] as Held;
      ended[head] = undefined as unknown as Held; // let it be collected
      head++;
      if (this.#records.get(record.id) === record) {
        this.#records.delete(record.id);
        purged++;
      }
    }
    if (head > 1024 && head * 2 > ended.length) {
      this.#ended = ended.slice(head);
      head = 0;
    }
    this.#endedHead = head;
    const expired = this.#unannounced;
    this.#unannounced = [];
    return { expired: Object.freeze(expired), purged };
  }

  /** {@inheritDoc InventoryStore.snapshot} */
  async snapshot(input: InventoryStoreTime): Promise<InventorySnapshot> {
    const now = this.#advance(input.now);
    const skus = [...this.#skus.values()].map((sku) =>
      Object.freeze({
        sku: sku.sku,
        safetyStock: sku.safetyStock,
        backorderLimit: sku.backorderLimit,
        locations: Object.freeze(sku.rows.map(rowView)),
      }),
    );
    const reservations = [...this.#records.values()].map((r) => this.#view(r));
    return Object.freeze({ at: now, skus: Object.freeze(skus), reservations: Object.freeze(reservations) });
  }

  /** Moves store time forward (never back) and settles the holds due by then. */
  #advance(now: number): number {
    if (now > this.#now) this.#now = now;
    const t = this.#now;
    for (let next = this.#expiries.peek(); next !== undefined && next.heapKey <= t; next = this.#expiries.peek()) {
      this.#unhold(next);
      this.#end(next, 'expired', next.expiresAt);
      this.#unannounced.push(this.#view(next) as ExpiredReservation);
    }
    return t;
  }

  #unhold(record: Held): void {
    const { allocations, rows } = record;
    for (let i = 0; i < rows.length; i++) (rows[i] as Row).held -= (allocations[i] as StockAllocation).qty;
  }

  #end(record: Held, state: Exclude<ReservationState, 'held'>, at: number): void {
    this.#expiries.remove(record);
    record.state = state;
    record.endedAt = at;
    record.view = undefined;
    this.#ended.push(record);
  }

  #replay(existing: Held, demand: readonly ReservationItem[]): InventoryStoreReserveResult {
    if (!sameItems(existing.items, demand)) {
      throw new ReservationConflictError(
        this.#view(existing),
        demand.map((d) => Object.freeze({ sku: d.sku, qty: d.qty })),
      );
    }
    switch (existing.state) {
      case 'held':
      case 'confirmed':
        return {
          ok: true,
          reservation: this.#view(existing) as HeldReservation | ConfirmedReservation,
          created: false,
        };
      case 'expired':
        throw new ReservationExpiredError(existing.id, existing.expiresAt);
      default:
        throw new ReservationConflictError(
          this.#view(existing),
          demand.map((d) => Object.freeze({ sku: d.sku, qty: d.qty })),
        );
    }
  }

  #sku(sku: string, argument: string): SkuRow {
    const row = this.#skus.get(sku);
    if (row === undefined) return invalid(argument, 'a SKU the inventory knows (restock it first)', sku);
    return row;
  }

  #record(id: string): Held {
    const record = this.#records.get(id);
    if (record === undefined) throw new ReservationNotFoundError(id);
    return record;
  }

  #view(record: Held): Reservation {
    if (record.view !== undefined) return record.view;
    const { id, items, allocations, createdAt, expiresAt, endedAt } = record;
    let view: Reservation;
    switch (record.state) {
      case 'confirmed':
        view = { id, state: 'confirmed', items, allocations, createdAt, expiresAt, confirmedAt: endedAt };
        break;
      case 'released':
        view = { id, state: 'released', items, allocations, createdAt, expiresAt, releasedAt: endedAt };
        break;
      case 'expired':
        view = { id, state: 'expired', items, allocations, createdAt, expiresAt };
        break;
      default:
        view = { id, state: 'held', items, allocations, createdAt, expiresAt };
    }
    record.view = Object.freeze(view);
    return record.view;
  }
}
