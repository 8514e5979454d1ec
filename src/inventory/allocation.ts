/**
 * The pure parts of a reservation, shared by the stores: summing demand per SKU and placing it over
 * locations. A store calls these inside its atomic step, on the stock as it is at that instant.
 */
import type { ReservationItem, StockAllocationStrategy, StockPolicy } from './types.js';

/**
 * Sums the cart lines per SKU, keeping the order in which SKUs first appear. Two lines of one SKU are one
 * demand: checking them one by one is how carts oversell. A one-line cart is returned as it is.
 */
export function sumDemand(items: readonly ReservationItem[]): readonly ReservationItem[] {
  if (items.length === 1) return items;
  const out: { sku: string; qty: number }[] = [];
  for (const item of items) {
    let found = false;
    for (const d of out) {
      if (d.sku === item.sku) {
        d.qty += item.qty;
        found = true;
        break;
      }
    }
    if (!found) out.push({ sku: item.sku, qty: item.qty });
  }
  return out;
}

/** Index of the first cart line of `sku` (for error messages). */
export function firstLine(items: readonly ReservationItem[], sku: string): number {
  return items.findIndex((item) => item.sku === sku);
}

/** The stock of one candidate location, as the allocator sees it. */
export interface AllocationCandidate {
  readonly location: string;
  readonly onHand: number;
  readonly held: number;
}

function stockRoom(c: AllocationCandidate, policy: StockPolicy): number {
  return Math.max(c.onHand - c.held - policy.safetyStock, 0);
}

function totalRoom(c: AllocationCandidate, policy: StockPolicy): number {
  return Math.max(c.onHand - c.held - policy.safetyStock + policy.backorderLimit, 0);
}

/**
 * Where placements are written: parallel arrays reused from call to call (a store's operation never awaits,
 * so one sink per store is safe), `count` entries valid.
 */
export interface PlacementSink<C> {
  readonly rows: C[];
  readonly quantities: number[];
  count: number;
}

function place<C>(sink: PlacementSink<C>, row: C, qty: number): void {
  sink.rows[sink.count] = row;
  sink.quantities[sink.count] = qty;
  sink.count++;
}

/**
 * Places `qty` units of one SKU over `candidates` (given in priority order), appending each placement to
 * `sink` (each location at most once). Stock on hand is used before any backorder allowance at every
 * location, so a split never backorders while stock sits elsewhere.
 *
 * @returns -1 when the demand was placed; otherwise the units that could have been given (nothing appended).
 */
export function allocate<C extends AllocationCandidate>(
  qty: number,
  candidates: readonly C[],
  policy: StockPolicy,
  strategy: StockAllocationStrategy,
  split: boolean,
  sink: PlacementSink<C>,
): number {
  let order = candidates;
  if (strategy === 'mostAvailable' && candidates.length > 1) {
    // Array.prototype.sort is stable: ties keep the priority order.
    order = [...candidates].sort(
      (a, b) => stockRoom(b, policy) - stockRoom(a, policy) || totalRoom(b, policy) - totalRoom(a, policy),
    );
  }
  if (!split) {
    let best = 0;
    for (const c of order) {
      if (stockRoom(c, policy) >= qty) {
        place(sink, c, qty);
        return -1;
      }
    }
    for (const c of order) {
      const room = totalRoom(c, policy);
      if (room >= qty) {
        place(sink, c, qty);
        return -1;
      }
      if (room > best) best = room;
    }
    return best;
  }
  let total = 0;
  for (const c of order) total += totalRoom(c, policy);
  if (total < qty) return total;
  const first = sink.count;
  let remaining = qty;
  // First pass: stock on hand; second pass: backorder allowance, merged into the same location's entry.
  for (const c of order) {
    if (remaining === 0) break;
    const take = Math.min(stockRoom(c, policy), remaining);
    if (take > 0) {
      place(sink, c, take);
      remaining -= take;
    }
  }
  for (const c of order) {
    if (remaining === 0) break;
    let at = -1;
    for (let p = first; p < sink.count; p++) if (sink.rows[p] === c) at = p;
    const already = at === -1 ? 0 : (sink.quantities[at] as number);
    const take = Math.min(totalRoom(c, policy) - already, remaining);
    if (take <= 0) continue;
    if (at === -1) place(sink, c, take);
    else sink.quantities[at] = already + take;
    remaining -= take;
  }
  return -1;
}
