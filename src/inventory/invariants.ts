/**
 * The invariants every correct inventory keeps, checked on a snapshot. Tests run it after every step; the
 * flash-sale example runs it at the end; a production job can run it against a store's snapshot.
 */
import type { InventorySnapshot, Reservation } from './types.js';

/**
 * The invariants {@link checkInventoryInvariants} checks:
 * - `integral`: every count is an integer;
 * - `nonNegative`: held, committed, received, safety stock and backorder allowance are never negative;
 * - `overcommitted`: held ≤ on-hand + backorder allowance at each location, i.e. available
 *   (on-hand − held − safety stock) never falls below −allowance except by the safety buffer itself;
 * - `conservation`: received + adjusted = on-hand + committed (nothing appears or vanishes);
 * - `holdAccounting`: the held count of each location is exactly the sum of the live holds' allocations
 *   there (no hold counted twice, none leaked), and every allocation points at a stocked location;
 * - `commitAccounting`: the confirmed reservations still kept never account for more than was committed;
 * - `reservationShape`: ids are unique, a reservation lists each SKU once and its allocations add up to
 *   exactly its items;
 * - `staleHold`: no hold past its TTL still counts.
 */
export type InventoryInvariant =
  | 'integral'
  | 'nonNegative'
  | 'overcommitted'
  | 'conservation'
  | 'holdAccounting'
  | 'commitAccounting'
  | 'reservationShape'
  | 'staleHold';

/** One broken invariant, with where it broke. */
export interface InventoryInvariantViolation {
  /** Which invariant. */
  readonly invariant: InventoryInvariant;
  /** What is wrong, with the numbers. */
  readonly message: string;
  /** The SKU concerned, when one is. */
  readonly sku?: string;
  /** The location concerned, when one is. */
  readonly location?: string;
  /** The reservation concerned, when one is. */
  readonly reservationId?: string;
}

function key(sku: string, location: string): string {
  return `${sku}\u0000${location}`;
}

/**
 * Checks every {@link InventoryInvariant} on a snapshot and returns the violations (empty when all hold).
 *
 * @param snapshot - From `Inventory.snapshot()` or `InventoryStore.snapshot()`.
 * @example
 * ```ts
 * import { checkInventoryInvariants, Inventory } from 'system-design-blocks/inventory';
 *
 * const inventory = new Inventory();
 * await inventory.restock('tv-55', 10);
 * await inventory.reserve({ reservationId: 'order-1', items: [{ sku: 'tv-55', qty: 2 }] });
 * console.log(checkInventoryInvariants(await inventory.snapshot())); // []
 * ```
 */
export function checkInventoryInvariants(snapshot: InventorySnapshot): readonly InventoryInvariantViolation[] {
  const out: InventoryInvariantViolation[] = [];
  const heldBy = new Map<string, number>();
  const confirmedBy = new Map<string, number>();
  const stocked = new Set<string>();
  for (const sku of snapshot.skus) for (const l of sku.locations) stocked.add(key(sku.sku, l.location));

  const ids = new Set<string>();
  for (const r of snapshot.reservations) {
    const at = { reservationId: r.id };
    if (ids.has(r.id)) out.push({ invariant: 'reservationShape', message: `reservation ${r.id} appears twice`, ...at });
    ids.add(r.id);
    checkReservation(r, out);
    if (r.state === 'held' && r.expiresAt <= snapshot.at) {
      out.push({
        invariant: 'staleHold',
        message: `hold ${r.id} expired at ${r.expiresAt} but still counts at ${snapshot.at}`,
        ...at,
      });
    }
    const sums = r.state === 'held' ? heldBy : r.state === 'confirmed' ? confirmedBy : undefined;
    if (sums === undefined) continue;
    for (const a of r.allocations) {
      const k = key(a.sku, a.location);
      if (!stocked.has(k)) {
        out.push({
          invariant: 'holdAccounting',
          message: `reservation ${r.id} allocates ${a.sku} at ${a.location}, which does not stock it`,
          sku: a.sku,
          location: a.location,
          ...at,
        });
      }
      sums.set(k, (sums.get(k) ?? 0) + a.qty);
    }
  }

  for (const sku of snapshot.skus) {
    const s = sku.sku;
    for (const [name, value] of [
      ['safetyStock', sku.safetyStock],
      ['backorderLimit', sku.backorderLimit],
    ] as const) {
      if (!Number.isSafeInteger(value))
        out.push({ invariant: 'integral', message: `${s}: ${name} is ${value}`, sku: s });
      else if (value < 0) out.push({ invariant: 'nonNegative', message: `${s}: ${name} is ${value}`, sku: s });
    }
    for (const l of sku.locations) {
      const where = { sku: s, location: l.location };
      const label = `${s} at ${l.location}`;
      const counts = [
        ['onHand', l.onHand],
        ['held', l.held],
        ['committed', l.committed],
        ['received', l.received],
        ['adjusted', l.adjusted],
      ] as const;
      let integral = true;
      for (const [name, value] of counts) {
        if (!Number.isSafeInteger(value)) {
          integral = false;
          out.push({ invariant: 'integral', message: `${label}: ${name} is ${value}`, ...where });
        } else if (value < 0 && name !== 'onHand' && name !== 'adjusted') {
          out.push({ invariant: 'nonNegative', message: `${label}: ${name} is ${value}`, ...where });
        }
      }
      if (!integral) continue;
      if (l.held - l.onHand > sku.backorderLimit) {
        out.push({
          invariant: 'overcommitted',
          message:
            `${label}: held ${l.held} exceeds on-hand ${l.onHand} + backorder allowance ${sku.backorderLimit} ` +
            `(available ${l.onHand - l.held - sku.safetyStock})`,
          ...where,
        });
      }
      if (l.received + l.adjusted !== l.onHand + l.committed) {
        out.push({
          invariant: 'conservation',
          message:
            `${label}: received ${l.received} + adjusted ${l.adjusted} != on-hand ${l.onHand} + ` +
            `committed ${l.committed}`,
          ...where,
        });
      }
      const k = key(s, l.location);
      const held = heldBy.get(k) ?? 0;
      if (held !== l.held) {
        out.push({
          invariant: 'holdAccounting',
          message: `${label}: held is ${l.held} but the live holds allocate ${held}`,
          ...where,
        });
      }
      const confirmed = confirmedBy.get(k) ?? 0;
      if (confirmed > l.committed) {
        out.push({
          invariant: 'commitAccounting',
          message: `${label}: confirmed reservations account for ${confirmed} but only ${l.committed} were committed`,
          ...where,
        });
      }
    }
  }
  return out;
}

function checkReservation(r: Reservation, out: InventoryInvariantViolation[]): void {
  const at = { reservationId: r.id };
  const wanted = new Map<string, number>();
  for (const item of r.items) {
    if (wanted.has(item.sku)) {
      out.push({ invariant: 'reservationShape', message: `${r.id} lists ${item.sku} twice`, sku: item.sku, ...at });
    }
    wanted.set(item.sku, (wanted.get(item.sku) ?? 0) + item.qty);
  }
  const given = new Map<string, number>();
  const pairs = new Set<string>();
  for (const a of r.allocations) {
    const k = key(a.sku, a.location);
    if (pairs.has(k)) {
      out.push({
        invariant: 'reservationShape',
        message: `${r.id} allocates ${a.sku} at ${a.location} twice`,
        sku: a.sku,
        location: a.location,
        ...at,
      });
    }
    pairs.add(k);
    if (!Number.isSafeInteger(a.qty) || a.qty <= 0) {
      out.push({
        invariant: 'reservationShape',
        message: `${r.id} allocates ${a.qty} of ${a.sku} at ${a.location}`,
        sku: a.sku,
        location: a.location,
        ...at,
      });
    }
    given.set(a.sku, (given.get(a.sku) ?? 0) + a.qty);
  }
  for (const sku of new Set([...wanted.keys(), ...given.keys()])) {
    const w = wanted.get(sku) ?? 0;
    const g = given.get(sku) ?? 0;
    if (w !== g) {
      out.push({
        invariant: 'reservationShape',
        message: `${r.id} wants ${w} of ${sku} but allocates ${g}`,
        sku,
        ...at,
      });
    }
  }
}
