/**
 * `Inventory`: the validated, evented front of an {@link InventoryStore}. It checks every argument, reads the
 * clock, and turns each call into exactly one atomic store operation.
 */
import {
  type Clock,
  Emitter,
  type Subscribe,
  systemClock,
  throwIfAborted,
  type ValidationError,
} from '../core/index.js';
import {
  assertBoolean,
  assertNonEmptyString,
  assertOneOf,
  assertOptionalSignal,
  assertPositiveInteger,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from '../core/validation.js';
import { InsufficientStockError } from './errors.js';
import { MemoryInventoryStore } from './memory-store.js';
import type {
  ConfirmedReservation,
  ExpiredReservation,
  HeldReservation,
  InventorySnapshot,
  InventoryStore,
  InventoryStoreReserveInput,
  InventoryStoreReserveResult,
  InventoryStoreTransition,
  InventorySweepResult,
  LocationStock,
  ReleasedReservation,
  Reservation,
  ReservationItem,
  SkuAvailability,
  StockAllocationStrategy,
  StockPolicy,
  StockShortfall,
} from './types.js';

/** Options of {@link Inventory}. Durations in ms. */
export interface InventoryOptions {
  /** Where stock and reservations live. @defaultValue a new {@link MemoryInventoryStore} */
  readonly store?: InventoryStore;
  /** Source of time for TTLs and expiry. @defaultValue systemClock */
  readonly clock?: Clock;
  /** How long a hold lives when `reserve` gives no `ttl`, in ms. @defaultValue 600_000 (10 minutes) */
  readonly holdTtl?: number;
  /**
   * How long a confirmed, released or expired reservation is kept after it ended, in ms, so retries of
   * `reserve`, `confirm` and `release` with its id still get its outcome. Dropped by the next sweep after.
   * @defaultValue 86_400_000 (24 hours)
   */
  readonly retention?: number;
  /** Default location order for `reserve`. @defaultValue 'priority' */
  readonly strategy?: StockAllocationStrategy;
  /** Whether `reserve` may, by default, take one SKU's demand from several locations. @defaultValue false */
  readonly split?: boolean;
  /** Location used by `restock` and `adjust` when the call names none. @defaultValue 'default' */
  readonly defaultLocation?: string;
}

/** A request to hold a cart's stock. */
export interface ReserveRequest {
  /** Idempotency key: a retry with the same id and items gets the same hold. */
  readonly reservationId: string;
  /** Cart lines (at least one); lines of the same SKU are summed. */
  readonly items: readonly ReservationItem[];
  /** Life of the hold, in ms. @defaultValue the inventory's `holdTtl` */
  readonly ttl?: number;
  /**
   * Candidate locations, in priority order (each at most once). Locations that do not stock a SKU are
   * skipped for it. @defaultValue every location stocking the SKU, in the order first stocked
   */
  readonly locations?: readonly string[];
  /** Location order. @defaultValue the inventory's `strategy` */
  readonly strategy?: StockAllocationStrategy;
  /** Whether one SKU's demand may come from several locations. @defaultValue the inventory's `split` */
  readonly split?: boolean;
  /** Cancels the call before it reaches the store. @defaultValue undefined */
  readonly signal?: AbortSignal;
}

/** What {@link Inventory.tryReserve} returns: the hold, or the shortfall (nothing was held). */
export type ReserveOutcome = InventoryStoreReserveResult;

/** Options of {@link Inventory.restock}. */
export interface RestockOptions {
  /** Where the units arrived. @defaultValue the inventory's `defaultLocation` */
  readonly location?: string;
}

/** Options of {@link Inventory.adjust}. */
export interface AdjustOptions {
  /** The location whose on-hand stock is corrected. @defaultValue the inventory's `defaultLocation` */
  readonly location?: string;
  /** Why (cycle count, damage, theft…), passed to the store and the `onStockChanged` event. @defaultValue undefined */
  readonly reason?: string;
}

/** Options of {@link Inventory.runSweeper}. */
export interface InventorySweeperOptions {
  /** Time between sweeps, in ms. @defaultValue 1_000 */
  readonly interval?: number;
  /** Stops the loop; `runSweeper` resolves when it aborts. Required: a sweeper must be stoppable. */
  readonly signal: AbortSignal;
}

/** Payload of the reservation events. */
export interface ReservationEvent<R extends Reservation> {
  /** The reservation after the change. */
  readonly reservation: R;
  /**
   * When the change happened, in ms of store time: `createdAt`, `confirmedAt`, `releasedAt`, or for an
   * expiry the time of the sweep that reported it.
   */
  readonly at: number;
}

/** Payload of {@link Inventory.onShortfall}: a reservation refused for lack of stock. */
export interface StockShortfallEvent {
  /** The refused reservation. */
  readonly reservationId: string;
  /** The cart lines as requested. */
  readonly items: readonly ReservationItem[];
  /** Every short SKU, with what was asked and what could be given. */
  readonly shortfalls: readonly StockShortfall[];
  /** Clock time of the call, in ms. */
  readonly at: number;
}

/** Payload of {@link Inventory.onStockChanged}: on-hand stock received or corrected. */
export interface StockChangedEvent {
  /** `restock` or `adjust`. */
  readonly change: 'restock' | 'adjust';
  /** The SKU. */
  readonly sku: string;
  /** The location. */
  readonly location: string;
  /** Units added (negative when removed). */
  readonly delta: number;
  /** The reason given to `adjust`, if any. */
  readonly reason: string | undefined;
  /** The location's stock after the change. */
  readonly stock: LocationStock;
  /** Clock time of the call, in ms. */
  readonly at: number;
}

const STRATEGIES = ['priority', 'mostAvailable'] as const;

interface Settings {
  readonly store: InventoryStore;
  readonly clock: Clock;
  readonly holdTtl: number;
  readonly retention: number;
  readonly strategy: StockAllocationStrategy;
  readonly split: boolean;
  readonly defaultLocation: string;
}

function settings(options: InventoryOptions | undefined): Settings {
  const o = optionsObject(options, 'options');
  const store = o.store ?? new MemoryInventoryStore();
  const clock = o.clock ?? systemClock;
  const s: Settings = {
    store,
    clock,
    holdTtl: o.holdTtl ?? 600_000,
    retention: o.retention ?? 86_400_000,
    strategy: o.strategy ?? 'priority',
    split: o.split ?? false,
    defaultLocation: o.defaultLocation ?? 'default',
  };
  if (typeof store !== 'object' || store === null || typeof store.reserve !== 'function') {
    invalid('options.store', 'an InventoryStore', store);
  }
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
    invalid('options.clock', 'a Clock', clock);
  }
  assertPositiveNumber(s.holdTtl, 'options.holdTtl');
  if (typeof s.retention !== 'number' || !(s.retention >= 0) || !Number.isFinite(s.retention)) {
    invalid('options.retention', 'a finite number of ms >= 0', s.retention);
  }
  assertOneOf(s.strategy, 'options.strategy', STRATEGIES);
  assertBoolean(s.split, 'options.split');
  assertNonEmptyString(s.defaultLocation, 'options.defaultLocation');
  return s;
}

function assertNonNegativeSafeInteger(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    invalid(argument, 'an integer >= 0', value);
}

/**
 * Oversell-safe stock reservation over an {@link InventoryStore}. A cart is held all-or-nothing (lines of
 * one SKU summed, demand placed over locations), then confirmed (committed: on-hand goes down), released,
 * extended, or left to expire. Each call is one atomic store operation, so concurrent buyers can never both
 * take the last unit, and a failed call changes nothing.
 *
 * @example
 * ```ts
 * import { Inventory } from 'system-design-blocks/inventory';
 * import { ManualClock } from 'system-design-blocks';
 *
 * const inventory = new Inventory({ clock: new ManualClock(), holdTtl: 120_000 });
 * await inventory.restock('tv-55', 600, { location: 'incheon' });
 * await inventory.restock('tv-55', 400, { location: 'busan' });
 * const hold = await inventory.reserve({
 *   reservationId: 'order-1',
 *   items: [{ sku: 'tv-55', qty: 1 }, { sku: 'tv-55', qty: 1 }], // one demand of 2
 * });
 * console.log(hold.allocations); // [{ sku: 'tv-55', location: 'incheon', qty: 2 }]
 * await inventory.confirm('order-1');
 * console.log((await inventory.availability('tv-55')).onHand); // 998
 * ```
 */
export class Inventory {
  /** Default life of a hold, in ms. */
  readonly holdTtl: number;
  /** How long ended reservations are kept for replays, in ms. */
  readonly retention: number;
  readonly #s: Settings;
  readonly #reserved = new Emitter<ReservationEvent<HeldReservation>>();
  readonly #confirmed = new Emitter<ReservationEvent<ConfirmedReservation>>();
  readonly #released = new Emitter<ReservationEvent<ReleasedReservation>>();
  readonly #expired = new Emitter<ReservationEvent<ExpiredReservation>>();
  readonly #shortfall = new Emitter<StockShortfallEvent>();
  readonly #stockChanged = new Emitter<StockChangedEvent>();

  /** A hold was placed (replays of an existing hold do not emit). */
  readonly onReserved: Subscribe<ReservationEvent<HeldReservation>> = this.#reserved.subscribe;
  /** A hold was confirmed into committed stock. */
  readonly onConfirmed: Subscribe<ReservationEvent<ConfirmedReservation>> = this.#confirmed.subscribe;
  /** A hold was released. */
  readonly onReleased: Subscribe<ReservationEvent<ReleasedReservation>> = this.#released.subscribe;
  /** A hold's TTL ran out; emitted once per hold, by the sweep that finds it. */
  readonly onExpired: Subscribe<ReservationEvent<ExpiredReservation>> = this.#expired.subscribe;
  /** A reservation was refused for lack of stock: which SKUs, how many units missing. */
  readonly onShortfall: Subscribe<StockShortfallEvent> = this.#shortfall.subscribe;
  /** On-hand stock was received (`restock`) or corrected (`adjust`). */
  readonly onStockChanged: Subscribe<StockChangedEvent> = this.#stockChanged.subscribe;

  /**
   * @param options - Store, clock and defaults; validated here.
   * @throws On a bad option: a {@link ValidationError} naming it.
   */
  constructor(options?: InventoryOptions) {
    this.#s = settings(options);
    this.holdTtl = this.#s.holdTtl;
    this.retention = this.#s.retention;
  }

  /**
   * Adds received units at a location; creates the SKU and the location when new.
   *
   * @param sku - The SKU.
   * @param qty - Units received, a positive integer.
   * @param options - Where.
   * @returns The location's stock after the change.
   * @throws On a bad argument: a {@link ValidationError}.
   */
  async restock(sku: string, qty: number, options?: RestockOptions): Promise<LocationStock> {
    assertNonEmptyString(sku, 'sku');
    assertPositiveInteger(qty, 'qty');
    const o = optionsObject(options, 'options');
    const location = o.location ?? this.#s.defaultLocation;
    assertNonEmptyString(location, 'options.location');
    const at = this.#s.clock.now();
    const stock = await this.#s.store.restock({ sku, location, qty, now: at });
    if (this.#stockChanged.size > 0) {
      this.#stockChanged.emit({ change: 'restock', sku, location, delta: qty, reason: undefined, stock, at });
    }
    return stock;
  }

  /**
   * Corrects on-hand stock at a location (a cycle count, damage): positive adds, negative removes. Never
   * takes on-hand below the units held there; committed units have already left on-hand and are untouched.
   *
   * @param sku - A SKU the inventory knows.
   * @param delta - Units to add or remove, a non-zero integer.
   * @param options - Where and why.
   * @returns The location's stock after the change.
   * @throws {@link StockConflictError} when the removal would uncover held units;
   *   {@link ValidationError} on a bad argument or an unknown SKU or location.
   */
  async adjust(sku: string, delta: number, options?: AdjustOptions): Promise<LocationStock> {
    assertNonEmptyString(sku, 'sku');
    if (typeof delta !== 'number' || !Number.isSafeInteger(delta) || delta === 0) {
      invalid('delta', 'a non-zero integer', delta);
    }
    const o = optionsObject(options, 'options');
    const location = o.location ?? this.#s.defaultLocation;
    assertNonEmptyString(location, 'options.location');
    const reason = o.reason;
    if (reason !== undefined && typeof reason !== 'string') invalid('options.reason', 'a string or undefined', reason);
    const at = this.#s.clock.now();
    const stock = await this.#s.store.adjust({ sku, location, delta, reason, now: at });
    if (this.#stockChanged.size > 0)
      this.#stockChanged.emit({ change: 'adjust', sku, location, delta, reason, stock, at });
    return stock;
  }

  /**
   * Sets a SKU's safety stock (units per location that holds never take) and backorder allowance (units
   * per location that holds may take beyond on-hand). Applies to reservations placed from now on; creates
   * the SKU when new.
   *
   * @param sku - The SKU.
   * @param policy - Both values, integers >= 0.
   * @throws {@link StockConflictError} when a location already has more backorders outstanding than the
   *   new allowance; {@link ValidationError} on a bad argument.
   */
  async setStockPolicy(sku: string, policy: StockPolicy): Promise<StockPolicy> {
    assertNonEmptyString(sku, 'sku');
    if (typeof policy !== 'object' || policy === null)
      invalid('policy', 'a { safetyStock, backorderLimit } object', policy);
    assertNonNegativeSafeInteger(policy.safetyStock, 'policy.safetyStock');
    assertNonNegativeSafeInteger(policy.backorderLimit, 'policy.backorderLimit');
    return this.#s.store.setPolicy({
      sku,
      safetyStock: policy.safetyStock,
      backorderLimit: policy.backorderLimit,
      now: this.#s.clock.now(),
    });
  }

  /**
   * Holds a whole cart, all or nothing. Lines of one SKU are summed into one demand, placed over locations
   * by the strategy. Idempotent by `reservationId`: a retry with the same items returns the existing hold
   * (or its confirmation), whatever the stock is by then. Use {@link Inventory.tryReserve} where a refusal
   * is the expected case (a flash sale) and an exception per refused buyer would cost too much.
   *
   * @param request - The cart and how to place it.
   * @returns The hold, or for a replay the reservation already placed under that id (held or confirmed).
   * @throws {@link InsufficientStockError} listing every short SKU (also emitted as `onShortfall`);
   *   {@link ReservationConflictError} when the id was used for other items or was released;
   *   {@link ReservationExpiredError} when the id's hold already expired;
   *   {@link ValidationError} on a bad argument or an unknown SKU or location; the signal's reason when
   *   `signal` has aborted.
   * @example
   * ```ts
   * import { Inventory, isInsufficientStockError } from 'system-design-blocks/inventory';
   *
   * const inventory = new Inventory();
   * await inventory.restock('tv-55', 3, { location: 'incheon' });
   * await inventory.restock('tv-55', 3, { location: 'busan' });
   * const hold = await inventory.reserve({
   *   reservationId: 'order-7',
   *   items: [{ sku: 'tv-55', qty: 4 }],
   *   split: true, // 3 from incheon, 1 from busan
   *   ttl: 300_000,
   * });
   * const again = await inventory.reserve({ reservationId: 'order-7', items: [{ sku: 'tv-55', qty: 4 }] });
   * console.log(again.id === hold.id && again.state === 'held'); // true: a retry gets the same hold
   * try {
   *   await inventory.reserve({ reservationId: 'order-8', items: [{ sku: 'tv-55', qty: 3 }] });
   * } catch (error: unknown) {
   *   if (isInsufficientStockError(error)) console.log(error.shortfalls[0]?.shortfall); // 1
   * }
   * ```
   */
  reserve(request: ReserveRequest): Promise<HeldReservation | ConfirmedReservation> {
    // The hot path avoids async/await: one `then` allocates a fraction of what an async frame does.
    try {
      const input = this.#reserveInput(request);
      return this.#s.store.reserve(input).then((outcome) => {
        this.#afterReserve(input, outcome);
        if (!outcome.ok) throw new InsufficientStockError(input.reservationId, outcome.shortfalls);
        return outcome.reservation;
      });
    } catch (error: unknown) {
      return Promise.reject(error);
    }
  }

  /**
   * Like {@link Inventory.reserve}, but a lack of stock is returned as `{ ok: false, shortfalls }` instead
   * of thrown: the cheap path for a storefront where most attempts are refused. Other failures still throw.
   *
   * @param request - The cart and how to place it.
   * @returns `{ ok: true, reservation, created }` (created is false for a replay), or `{ ok: false, shortfalls }`.
   * @throws {@link ReservationConflictError}, {@link ReservationExpiredError} and {@link ValidationError} as
   *   `reserve` does; the signal's reason when `signal` has aborted.
   * @example
   * ```ts
   * import { Inventory } from 'system-design-blocks/inventory';
   *
   * const inventory = new Inventory();
   * await inventory.restock('tv-55', 1);
   * const outcome = await inventory.tryReserve({ reservationId: 'buyer-42', items: [{ sku: 'tv-55', qty: 2 }] });
   * if (!outcome.ok) console.log(outcome.shortfalls); // [{ sku: 'tv-55', requested: 2, available: 1, shortfall: 1 }]
   * ```
   */
  tryReserve(request: ReserveRequest): Promise<ReserveOutcome> {
    try {
      const input = this.#reserveInput(request);
      return this.#s.store.reserve(input).then((outcome) => {
        this.#afterReserve(input, outcome);
        return outcome;
      });
    } catch (error: unknown) {
      return Promise.reject(error);
    }
  }

  /** Validates a reserve request and builds the store's input (reading the clock last). */
  #reserveInput(request: ReserveRequest): InventoryStoreReserveInput {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      invalid('request', 'a { reservationId, items } object', request);
    }
    const { reservationId, items, locations, signal } = request;
    assertNonEmptyString(reservationId, 'reservationId');
    if (!Array.isArray(items) || items.length === 0) invalid('items', 'a non-empty array of { sku, qty }', items);
    let total = 0;
    for (let i = 0; i < items.length; i++) {
      const item: unknown = items[i];
      if (typeof item !== 'object' || item === null) invalid(`items[${i}]`, 'a { sku, qty } object', item);
      const { sku, qty } = item as { sku?: unknown; qty?: unknown };
      // Checked inline: argument names are only built when something is wrong (this is the hot path).
      if (typeof sku !== 'string' || sku.length === 0) invalid(`items[${i}].sku`, 'a non-empty string', sku);
      if (typeof qty !== 'number' || !Number.isSafeInteger(qty) || qty <= 0) {
        invalid(`items[${i}].qty`, 'a positive integer', qty);
      }
      total += qty;
      // Demand is summed per SKU: keep every sum a safe integer.
      if (!Number.isSafeInteger(total))
        invalid(`items[${i}].qty`, 'a quantity keeping the cart total a safe integer', qty);
    }
    const ttl = request.ttl ?? this.#s.holdTtl;
    assertPositiveNumber(ttl, 'ttl');
    if (locations !== undefined) {
      if (!Array.isArray(locations)) invalid('locations', 'an array of location names or undefined', locations);
      for (let j = 0; j < locations.length; j++) {
        const location: unknown = locations[j];
        if (typeof location !== 'string' || location.length === 0)
          invalid(`locations[${j}]`, 'a non-empty string', location);
        if (locations.indexOf(location) !== j) invalid(`locations[${j}]`, 'a location not already listed', location);
      }
    }
    const strategy = request.strategy ?? this.#s.strategy;
    assertOneOf(strategy, 'strategy', STRATEGIES);
    const split = request.split ?? this.#s.split;
    assertBoolean(split, 'split');
    assertOptionalSignal(signal, 'signal');
    throwIfAborted(signal);

    return { reservationId, items, locations, strategy, split, ttl, now: this.#s.clock.now() };
  }

  #afterReserve(input: InventoryStoreReserveInput, outcome: ReserveOutcome): void {
    if (outcome.ok) {
      if (outcome.created && outcome.reservation.state === 'held' && this.#reserved.size > 0) {
        this.#reserved.emit({ reservation: outcome.reservation, at: outcome.reservation.createdAt });
      }
    } else if (this.#shortfall.size > 0) {
      const items = Object.freeze(input.items.map(({ sku, qty }) => Object.freeze({ sku, qty })));
      this.#shortfall.emit({
        reservationId: input.reservationId,
        items,
        shortfalls: outcome.shortfalls,
        at: input.now,
      });
    }
  }

  /**
   * Turns a live hold into committed stock: on-hand and held go down at each allocated location.
   * Idempotent: confirming a confirmed reservation returns it.
   *
   * @param reservationId - The hold.
   * @throws {@link ReservationExpiredError} when its TTL ran out first (never a silent oversell);
   *   {@link ReservationStateError} when it was released; {@link ReservationNotFoundError} for an unknown
   *   id; {@link ValidationError} on a bad argument.
   */
  confirm(reservationId: string): Promise<ConfirmedReservation> {
    try {
      assertNonEmptyString(reservationId, 'reservationId');
      return this.#s.store.confirm({ reservationId, now: this.#s.clock.now() }).then(this.#afterConfirm);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
  }

  readonly #afterConfirm = ({
    reservation,
    changed,
  }: InventoryStoreTransition<ConfirmedReservation>): ConfirmedReservation => {
    if (changed && this.#confirmed.size > 0) this.#confirmed.emit({ reservation, at: reservation.confirmedAt });
    return reservation;
  };

  /**
   * Gives a live hold's units back. Idempotent: releasing a released hold returns it, and releasing an
   * expired one returns it unchanged (its units were already free).
   *
   * @param reservationId - The hold.
   * @returns The reservation, now `released` (or `expired` if its TTL had run out).
   * @throws {@link ReservationStateError} when it was confirmed; {@link ReservationNotFoundError} for an
   *   unknown id; {@link ValidationError} on a bad argument.
   */
  release(reservationId: string): Promise<ReleasedReservation | ExpiredReservation> {
    try {
      assertNonEmptyString(reservationId, 'reservationId');
      return this.#s.store.release({ reservationId, now: this.#s.clock.now() }).then(this.#afterRelease);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
  }

  readonly #afterRelease = ({
    reservation,
    changed,
  }: InventoryStoreTransition<ReleasedReservation | ExpiredReservation>): ReleasedReservation | ExpiredReservation => {
    if (changed && reservation.state === 'released' && this.#released.size > 0) {
      this.#released.emit({ reservation, at: reservation.releasedAt });
    }
    return reservation;
  };

  /**
   * Keeps a live hold for `ttl` more ms from now (never shortens it), e.g. while a payment is slow.
   *
   * @param reservationId - The hold.
   * @param ttl - New remaining life, in ms. @defaultValue the inventory's `holdTtl`
   * @throws {@link ReservationExpiredError} when its TTL already ran out; {@link ReservationStateError}
   *   when it was confirmed or released; {@link ReservationNotFoundError} for an unknown id;
   *   {@link ValidationError} on a bad argument.
   */
  async extend(reservationId: string, ttl: number = this.#s.holdTtl): Promise<HeldReservation> {
    assertNonEmptyString(reservationId, 'reservationId');
    assertPositiveNumber(ttl, 'ttl');
    return this.#s.store.extend({ reservationId, ttl, now: this.#s.clock.now() });
  }

  /**
   * On-hand, held, committed and available units of a SKU, per location and in total. Expired holds never
   * count, swept or not.
   *
   * @param sku - A SKU the inventory knows.
   * @throws On a bad argument or an unknown SKU: a {@link ValidationError}.
   */
  async availability(sku: string): Promise<SkuAvailability> {
    assertNonEmptyString(sku, 'sku');
    return this.#s.store.availability({ sku, now: this.#s.clock.now() });
  }

  /**
   * One reservation in its current state (a hold past its TTL reads as `expired`), or `undefined` for an
   * id the store does not know or no longer keeps.
   *
   * @param reservationId - The id.
   * @throws On a bad argument: a {@link ValidationError}.
   */
  async reservation(reservationId: string): Promise<Reservation | undefined> {
    assertNonEmptyString(reservationId, 'reservationId');
    return this.#s.store.reservation({ reservationId, now: this.#s.clock.now() });
  }

  /**
   * Releases the holds whose TTL ran out (emitting `onExpired` once for each) and drops ended reservations
   * older than `retention`. Expired holds stopped counting already; sweeping makes it visible and bounds
   * memory. Run it periodically, or use {@link Inventory.runSweeper}.
   *
   * @returns The holds that expired since the previous sweep, and how many old reservations were dropped.
   */
  async sweepExpired(): Promise<InventorySweepResult> {
    const at = this.#s.clock.now();
    const result = await this.#s.store.sweep({ now: at, purgeBefore: at - this.#s.retention });
    if (this.#expired.size > 0) for (const reservation of result.expired) this.#expired.emit({ reservation, at });
    return result;
  }

  /**
   * Sweeps every `interval` ms of the inventory's clock until `signal` aborts, then resolves. Rejects if a
   * sweep fails (the loop stops).
   *
   * @param options - Interval and the signal that stops the loop.
   * @throws On a bad argument: a {@link ValidationError}.
   * @example
   * ```ts
   * import { Inventory } from 'system-design-blocks/inventory';
   *
   * const inventory = new Inventory();
   * const stop = new AbortController();
   * const sweeper = inventory.runSweeper({ interval: 5_000, signal: stop.signal });
   * // … later, on shutdown:
   * stop.abort();
   * await sweeper;
   * ```
   */
  async runSweeper(options: InventorySweeperOptions): Promise<void> {
    const o = optionsObject(options, 'options');
    const interval = o.interval ?? 1_000;
    assertPositiveNumber(interval, 'options.interval');
    const signal = o.signal;
    if (!(signal instanceof AbortSignal)) invalid('options.signal', 'an AbortSignal', signal);
    while (!signal.aborted) {
      try {
        await this.#s.clock.sleep(interval, signal);
      } catch (error: unknown) {
        if (signal.aborted) return;
        throw error;
      }
      await this.sweepExpired();
    }
  }

  /**
   * The whole state at one instant: every SKU's stock per location and every kept reservation. Feed it to
   * {@link checkInventoryInvariants}.
   */
  async snapshot(): Promise<InventorySnapshot> {
    return this.#s.store.snapshot({ now: this.#s.clock.now() });
  }
}
