/**
 * The inventory block's data: reservations as a discriminated union, stock levels, availability, snapshots,
 * and the {@link InventoryStore} interface that every backend implements. All plain, serialisable data.
 */

/** One cart line: `qty` units of `sku`. Lines of the same SKU are summed before anything is checked. */
export interface ReservationItem {
  /** The stock-keeping unit. */
  readonly sku: string;
  /** Units wanted: a positive integer. */
  readonly qty: number;
}

/** Units of one SKU taken from one location by a reservation. */
export interface StockAllocation {
  /** The stock-keeping unit. */
  readonly sku: string;
  /** The location (warehouse, store) the units come from. */
  readonly location: string;
  /** Units taken there: a positive integer. */
  readonly qty: number;
}

/**
 * How the demand for one SKU is placed over the candidate locations:
 * - `priority`: in the order of the candidate locations (the request's `locations`, else the order the
 *   locations were first stocked);
 * - `mostAvailable`: the location with the most free stock first (ties keep the priority order).
 *
 * Without `split`, the whole demand for a SKU comes from the first location, in that order, that can cover
 * it; with `split`, it is filled location by location in that order.
 */
export type StockAllocationStrategy = 'priority' | 'mostAvailable';

/** Fields every reservation has, whatever its state. */
export interface ReservationBase {
  /** The caller's id: the idempotency key of the reservation. */
  readonly id: string;
  /** Demand per SKU (lines of the same SKU summed), in the order the SKUs first appeared in the cart. */
  readonly items: readonly ReservationItem[];
  /** Where the units are held or were committed, one entry per SKU and location. */
  readonly allocations: readonly StockAllocation[];
  /** When the hold was placed, in clock ms. */
  readonly createdAt: number;
  /** When the hold lapses (or lapsed), in clock ms: at this instant it stops counting. */
  readonly expiresAt: number;
}

/** A hold: the units are set aside until it is confirmed, released, or its TTL runs out. */
export interface HeldReservation extends ReservationBase {
  /** Discriminant. */
  readonly state: 'held';
}

/** A confirmed hold: its units became committed stock (on-hand went down). Final. */
export interface ConfirmedReservation extends ReservationBase {
  /** Discriminant. */
  readonly state: 'confirmed';
  /** When it was confirmed, in clock ms. */
  readonly confirmedAt: number;
}

/** A released hold: its units went back to available stock. Final. */
export interface ReleasedReservation extends ReservationBase {
  /** Discriminant. */
  readonly state: 'released';
  /** When it was released, in clock ms. */
  readonly releasedAt: number;
}

/** A hold whose TTL ran out (at `expiresAt`) before it was confirmed or released: its units are free again. Final. */
export interface ExpiredReservation extends ReservationBase {
  /** Discriminant. */
  readonly state: 'expired';
}

/** A reservation in any state; switch on `state`. */
export type Reservation = HeldReservation | ConfirmedReservation | ReleasedReservation | ExpiredReservation;

/** The states of a {@link Reservation}: `held`, then `confirmed`, `released` or `expired`. */
export type ReservationState = Reservation['state'];

/** Per-SKU stock rules, applied at every location that stocks the SKU. */
export interface StockPolicy {
  /** Units per location that holds never take (a buffer for miscounts and damage). */
  readonly safetyStock: number;
  /** Units per location that holds may take beyond on-hand stock (sold on backorder). */
  readonly backorderLimit: number;
}

/** Stock of one SKU at one location, with its history counters (the snapshot's view). */
export interface LocationStock {
  /** The location. */
  readonly location: string;
  /** Units physically there and not yet committed; negative only by confirmed backorders. */
  readonly onHand: number;
  /** Units set aside by live holds. */
  readonly held: number;
  /** Units committed by confirmed holds since the start (they left on-hand). */
  readonly committed: number;
  /** Units received by `restock` since the start. */
  readonly received: number;
  /** Net units added (or removed, when negative) by `adjust` since the start. */
  readonly adjusted: number;
}

/** One SKU in an {@link InventorySnapshot}. */
export interface SkuStock extends StockPolicy {
  /** The stock-keeping unit. */
  readonly sku: string;
  /** Its stock per location, in the order the locations were first stocked. */
  readonly locations: readonly LocationStock[];
}

/** Availability of one SKU at one location. */
export interface LocationAvailability {
  /** The location. */
  readonly location: string;
  /** Units on hand. */
  readonly onHand: number;
  /** Units held by live holds (expired holds never count). */
  readonly held: number;
  /** Units committed so far. */
  readonly committed: number;
  /**
   * `onHand − held − safetyStock`: what a new hold can take from stock. Negative when the safety buffer was
   * eaten into or units are sold on backorder; holds may still take up to `available + backorderLimit`.
   */
  readonly available: number;
}

/** Availability of one SKU, per location and in total. */
export interface SkuAvailability extends StockPolicy {
  /** The stock-keeping unit. */
  readonly sku: string;
  /** Units on hand, all locations. */
  readonly onHand: number;
  /** Units held, all locations. */
  readonly held: number;
  /** Units committed, all locations. */
  readonly committed: number;
  /** Sum of the per-location `available`. */
  readonly available: number;
  /** Per location, in the order the locations were first stocked. */
  readonly locations: readonly LocationAvailability[];
}

/** The whole state of an inventory at one instant, for invariant checks, audits and debugging. */
export interface InventorySnapshot {
  /** The store time it was taken at, in ms. */
  readonly at: number;
  /** Every SKU the store knows, in the order first seen. */
  readonly skus: readonly SkuStock[];
  /** Every reservation the store still keeps (live holds, and final ones within their retention). */
  readonly reservations: readonly Reservation[];
}

/** One SKU a reservation could not get enough of. */
export interface StockShortfall {
  /** The stock-keeping unit. */
  readonly sku: string;
  /** Units asked for (all lines of the SKU summed). */
  readonly requested: number;
  /** Units the allocation rules could give (stock, backorder allowance, locations, split). */
  readonly available: number;
  /** `requested − available`. */
  readonly shortfall: number;
}

/** What {@link InventoryStore.sweep} did. */
export interface InventorySweepResult {
  /** Holds found past their TTL since the previous sweep, each reported by exactly one sweep. */
  readonly expired: readonly ExpiredReservation[];
  /** Final reservations dropped because their retention ran out. */
  readonly purged: number;
}

// ---------------------------------------------------------------------------------------------------------
// Store interface
// ---------------------------------------------------------------------------------------------------------

/** Every store operation carries the caller's clock time; stores never read a clock themselves. */
export interface InventoryStoreTime {
  /**
   * The caller's clock time, in ms. Stores treat time as monotonic: an operation carrying an earlier time
   * than one already applied is evaluated at the later time, so an expired hold never comes back.
   */
  readonly now: number;
}

/** Input of {@link InventoryStore.restock}. */
export interface InventoryStoreRestockInput extends InventoryStoreTime {
  /** The SKU; created when new. */
  readonly sku: string;
  /** The location; created when new. */
  readonly location: string;
  /** Units received, a positive integer. */
  readonly qty: number;
}

/** Input of {@link InventoryStore.adjust}. */
export interface InventoryStoreAdjustInput extends InventoryStoreTime {
  /** A SKU the store knows. */
  readonly sku: string;
  /** A location that stocks the SKU. */
  readonly location: string;
  /** Units added (positive) or removed (negative); never 0. */
  readonly delta: number;
  /** Why (cycle count, damage, …), for the audit trail. */
  readonly reason: string | undefined;
}

/** Input of {@link InventoryStore.setPolicy}. */
export interface InventoryStorePolicyInput extends InventoryStoreTime, StockPolicy {
  /** The SKU; created (with no location) when new. */
  readonly sku: string;
}

/** Input of {@link InventoryStore.reserve}. */
export interface InventoryStoreReserveInput extends InventoryStoreTime {
  /** Idempotency key of the reservation. */
  readonly reservationId: string;
  /** The cart lines as given (the store sums lines of the same SKU). Non-empty, positive integer quantities. */
  readonly items: readonly ReservationItem[];
  /** Candidate locations in priority order; `undefined` means every location stocking the SKU. */
  readonly locations: readonly string[] | undefined;
  /** How demand is placed over locations. */
  readonly strategy: StockAllocationStrategy;
  /** Whether one SKU's demand may come from several locations. */
  readonly split: boolean;
  /** How long the new hold lives, in ms (> 0): it expires at the store's `now` plus this. */
  readonly ttl: number;
}

/**
 * Result of {@link InventoryStore.reserve}. A refusal for lack of stock is an outcome, not an exception: in
 * a flash sale it is the common case, and building an error per refused buyer would cost more than the
 * reservation itself.
 */
export type InventoryStoreReserveResult =
  | {
      /** The hold was placed, or the request is a replay of an existing reservation. */
      readonly ok: true;
      /** The new hold, or the existing reservation of that id (held or confirmed) for a replay. */
      readonly reservation: HeldReservation | ConfirmedReservation;
      /** True when this call placed the hold; false for a replay. */
      readonly created: boolean;
    }
  | {
      /** Refused: at least one SKU is short. Nothing was held. */
      readonly ok: false;
      /** Every short SKU, in cart order. */
      readonly shortfalls: readonly StockShortfall[];
    };

/** Input of the operations that address one reservation. */
export interface InventoryStoreReservationInput extends InventoryStoreTime {
  /** The reservation's id. */
  readonly reservationId: string;
}

/** Input of {@link InventoryStore.extend}. */
export interface InventoryStoreExtendInput extends InventoryStoreReservationInput {
  /**
   * The hold now lives this many ms (> 0) from the store's `now`; a hold is never shortened (the later of
   * that and its current expiry wins).
   */
  readonly ttl: number;
}

/** Result of a state transition (confirm, release). */
export interface InventoryStoreTransition<R extends Reservation> {
  /** The reservation after the call. */
  readonly reservation: R;
  /** True when this call made the transition; false when it had already happened (a replay). */
  readonly changed: boolean;
}

/** Input of {@link InventoryStore.availability}. */
export interface InventoryStoreSkuInput extends InventoryStoreTime {
  /** A SKU the store knows. */
  readonly sku: string;
}

/** Input of {@link InventoryStore.sweep}. */
export interface InventoryStoreSweepInput extends InventoryStoreTime {
  /** Final reservations that ended at or before this time (ms) are dropped. */
  readonly purgeBefore: number;
}

/**
 * Where stock and reservations live. Every method is one atomic step (one Redis Lua script or one
 * PostgreSQL transaction would implement it): it validates against the current state, then applies all of
 * its change or none of it, so concurrent callers can never interleave between a check and its write.
 *
 * Domain errors are thrown by the store, after nothing was changed: `ValidationError` (unknown SKU or
 * location), `ReservationNotFoundError`, `ReservationExpiredError`,
 * `ReservationConflictError`, `ReservationStateError`, `StockConflictError`. Shapes (integers, non-empty
 * strings) are validated by `Inventory` before a store is called. Any other store must pass
 * `runInventoryStoreContract`.
 *
 * Expiry is lazy: a hold whose `expiresAt` is at or before `now` is expired for every operation, whether or
 * not a sweep has run; `sweep` reports each such hold exactly once.
 */
export interface InventoryStore {
  /** Adds received units; creates the SKU and location when new. */
  restock(input: InventoryStoreRestockInput): Promise<LocationStock>;
  /** Corrects on-hand stock; never below the units held there (`StockConflictError`). */
  adjust(input: InventoryStoreAdjustInput): Promise<LocationStock>;
  /** Sets a SKU's safety stock and backorder allowance; refuses an allowance below outstanding backorders. */
  setPolicy(input: InventoryStorePolicyInput): Promise<StockPolicy>;
  /**
   * Places an all-or-nothing hold on a whole cart, or returns the existing one for a replay; a lack of
   * stock is returned as `{ ok: false, shortfalls }`, not thrown.
   */
  reserve(input: InventoryStoreReserveInput): Promise<InventoryStoreReserveResult>;
  /** Turns a live hold into committed stock. */
  confirm(input: InventoryStoreReservationInput): Promise<InventoryStoreTransition<ConfirmedReservation>>;
  /** Returns a live hold's units; an expired hold is left as it is. */
  release(
    input: InventoryStoreReservationInput,
  ): Promise<InventoryStoreTransition<ReleasedReservation | ExpiredReservation>>;
  /** Pushes a live hold's expiry later. */
  extend(input: InventoryStoreExtendInput): Promise<HeldReservation>;
  /** Availability of one SKU, per location and in total. */
  availability(input: InventoryStoreSkuInput): Promise<SkuAvailability>;
  /** One reservation, or `undefined` when the store does not know (or no longer keeps) the id. */
  reservation(input: InventoryStoreReservationInput): Promise<Reservation | undefined>;
  /** Reports holds that expired since the previous sweep and drops final reservations past retention. */
  sweep(input: InventoryStoreSweepInput): Promise<InventorySweepResult>;
  /** The whole state, consistent at one instant. */
  snapshot(input: InventoryStoreTime): Promise<InventorySnapshot>;
}
