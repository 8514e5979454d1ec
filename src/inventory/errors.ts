/**
 * The inventory block's errors. Each has a stable `code`, the context a caller acts on, and a guard that
 * works across copies of the package. When one is thrown, the stock and reservations are exactly as they
 * were before the call.
 */
import { errorGuard, SystemDesignError } from '../core/index.js';
import type { Reservation, ReservationItem, ReservationState, StockShortfall } from './types.js';

/**
 * A reservation could not be placed: at least one SKU lacks stock (`E_INSUFFICIENT_STOCK`). Lists every
 * short SKU with what was asked and what the allocation rules could give. Nothing was held.
 *
 * @example
 * ```ts
 * import { Inventory, isInsufficientStockError } from 'system-design-blocks/inventory';
 *
 * const inventory = new Inventory();
 * await inventory.restock('tv-55', 1);
 * try {
 *   await inventory.reserve({ reservationId: 'cart-1', items: [{ sku: 'tv-55', qty: 2 }] });
 * } catch (error: unknown) {
 *   if (isInsufficientStockError(error)) console.log(error.shortfalls); // [{ sku: 'tv-55', requested: 2, available: 1, shortfall: 1 }]
 * }
 * ```
 */
export class InsufficientStockError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_INSUFFICIENT_STOCK';
  /** The reservation that was refused. */
  readonly reservationId: string;
  /** Every SKU that was short, in cart order. */
  readonly shortfalls: readonly StockShortfall[];

  /**
   * @param reservationId - The refused reservation.
   * @param shortfalls - The short SKUs (at least one).
   */
  constructor(reservationId: string, shortfalls: readonly StockShortfall[]) {
    const list = shortfalls.map((s) => `${s.sku} (asked ${s.requested}, can give ${s.available})`).join(', ');
    super(InsufficientStockError.code, `reservation ${JSON.stringify(reservationId)}: not enough stock for ${list}`);
    this.reservationId = reservationId;
    this.shortfalls = Object.freeze(shortfalls.map((s) => Object.freeze({ ...s })));
  }
}

/** True when `error` is an {@link InsufficientStockError} from any copy of the package. */
export const isInsufficientStockError: (error: unknown) => error is InsufficientStockError =
  errorGuard<InsufficientStockError>(InsufficientStockError.code);

/**
 * No reservation has this id (`E_RESERVATION_NOT_FOUND`): it was never placed, or it ended and its
 * retention ran out.
 *
 * @example
 * ```ts
 * import { Inventory, isReservationNotFoundError } from 'system-design-blocks/inventory';
 *
 * try {
 *   await new Inventory().confirm('no-such-cart');
 * } catch (error: unknown) {
 *   if (isReservationNotFoundError(error)) console.log(error.reservationId); // no-such-cart
 * }
 * ```
 */
export class ReservationNotFoundError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_RESERVATION_NOT_FOUND';
  /** The unknown id. */
  readonly reservationId: string;

  /** @param reservationId - The unknown id. */
  constructor(reservationId: string) {
    super(ReservationNotFoundError.code, `no reservation ${JSON.stringify(reservationId)}`);
    this.reservationId = reservationId;
  }
}

/** True when `error` is a {@link ReservationNotFoundError} from any copy of the package. */
export const isReservationNotFoundError: (error: unknown) => error is ReservationNotFoundError =
  errorGuard<ReservationNotFoundError>(ReservationNotFoundError.code);

/**
 * The hold's TTL ran out before this call (`E_RESERVATION_EXPIRED`): it can no longer be confirmed or
 * extended, and its id cannot be reserved again. Its units are already free; place a new reservation.
 *
 * @example
 * ```ts
 * import { Inventory, isReservationExpiredError } from 'system-design-blocks/inventory';
 * import { ManualClock } from 'system-design-blocks';
 *
 * const clock = new ManualClock();
 * const inventory = new Inventory({ clock, holdTtl: 60_000 });
 * await inventory.restock('tv-55', 1);
 * await inventory.reserve({ reservationId: 'cart-1', items: [{ sku: 'tv-55', qty: 1 }] });
 * clock.advance(60_000);
 * try {
 *   await inventory.confirm('cart-1');
 * } catch (error: unknown) {
 *   if (isReservationExpiredError(error)) console.log(error.expiredAt); // 60000
 * }
 * ```
 */
export class ReservationExpiredError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_RESERVATION_EXPIRED';
  /** The expired reservation. */
  readonly reservationId: string;
  /** When it expired, in clock ms. */
  readonly expiredAt: number;

  /**
   * @param reservationId - The expired reservation.
   * @param expiredAt - When it expired, in clock ms.
   */
  constructor(reservationId: string, expiredAt: number) {
    super(ReservationExpiredError.code, `reservation ${JSON.stringify(reservationId)} expired at ${expiredAt}`);
    this.reservationId = reservationId;
    this.expiredAt = expiredAt;
  }
}

/** True when `error` is a {@link ReservationExpiredError} from any copy of the package. */
export const isReservationExpiredError: (error: unknown) => error is ReservationExpiredError =
  errorGuard<ReservationExpiredError>(ReservationExpiredError.code);

/**
 * A `reserve` reused an id for a different request (`E_RESERVATION_CONFLICT`): other items, or an id whose
 * hold was already released. The existing reservation is untouched and given in `existing`.
 *
 * @example
 * ```ts
 * import { Inventory, isReservationConflictError } from 'system-design-blocks/inventory';
 *
 * const inventory = new Inventory();
 * await inventory.restock('tv-55', 5);
 * await inventory.reserve({ reservationId: 'cart-1', items: [{ sku: 'tv-55', qty: 1 }] });
 * try {
 *   await inventory.reserve({ reservationId: 'cart-1', items: [{ sku: 'tv-55', qty: 2 }] });
 * } catch (error: unknown) {
 *   if (isReservationConflictError(error)) console.log(error.existing.items); // [{ sku: 'tv-55', qty: 1 }]
 * }
 * ```
 */
export class ReservationConflictError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_RESERVATION_CONFLICT';
  /** The reused id. */
  readonly reservationId: string;
  /** The reservation already under that id. */
  readonly existing: Reservation;
  /** The items of the refused request, per SKU. */
  readonly requested: readonly ReservationItem[];

  /**
   * @param existing - The reservation already under that id.
   * @param requested - The refused request's demand per SKU.
   */
  constructor(existing: Reservation, requested: readonly ReservationItem[]) {
    const why = sameItems(existing.items, requested)
      ? `was ${existing.state}; use a new id`
      : 'is already used for other items';
    super(ReservationConflictError.code, `reservation id ${JSON.stringify(existing.id)} ${why}`);
    this.reservationId = existing.id;
    this.existing = existing;
    this.requested = requested;
  }
}

/** True when `error` is a {@link ReservationConflictError} from any copy of the package. */
export const isReservationConflictError: (error: unknown) => error is ReservationConflictError =
  errorGuard<ReservationConflictError>(ReservationConflictError.code);

/** Operations that move a reservation from one state to another. */
export type ReservationOperation = 'confirm' | 'release' | 'extend';

/**
 * The reservation is in a state that does not allow the operation (`E_RESERVATION_STATE`): confirming or
 * extending a released hold, releasing or extending a confirmed one. Nothing changed.
 *
 * @example
 * ```ts
 * import { Inventory, isReservationStateError } from 'system-design-blocks/inventory';
 *
 * const inventory = new Inventory();
 * await inventory.restock('tv-55', 5);
 * await inventory.reserve({ reservationId: 'cart-1', items: [{ sku: 'tv-55', qty: 1 }] });
 * await inventory.confirm('cart-1');
 * try {
 *   await inventory.release('cart-1');
 * } catch (error: unknown) {
 *   if (isReservationStateError(error)) console.log(error.state); // confirmed
 * }
 * ```
 */
export class ReservationStateError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_RESERVATION_STATE';
  /** The reservation. */
  readonly reservationId: string;
  /** Its current state. */
  readonly state: ReservationState;
  /** The refused operation. */
  readonly operation: ReservationOperation;

  /**
   * @param reservationId - The reservation.
   * @param state - Its current state.
   * @param operation - The refused operation.
   */
  constructor(reservationId: string, state: ReservationState, operation: ReservationOperation) {
    super(
      ReservationStateError.code,
      `cannot ${operation} reservation ${JSON.stringify(reservationId)}: it is ${state}`,
    );
    this.reservationId = reservationId;
    this.state = state;
    this.operation = operation;
  }
}

/** True when `error` is a {@link ReservationStateError} from any copy of the package. */
export const isReservationStateError: (error: unknown) => error is ReservationStateError =
  errorGuard<ReservationStateError>(ReservationStateError.code);

/**
 * A stock change would leave promised units uncovered (`E_STOCK_CONFLICT`): an `adjust` taking on-hand
 * below what holds have set aside there, or a `setStockPolicy` lowering the backorder allowance below the
 * backorders already outstanding at a location. Nothing changed.
 *
 * @example
 * ```ts
 * import { Inventory, isStockConflictError } from 'system-design-blocks/inventory';
 *
 * const inventory = new Inventory();
 * await inventory.restock('tv-55', 3);
 * await inventory.reserve({ reservationId: 'cart-1', items: [{ sku: 'tv-55', qty: 2 }] });
 * try {
 *   await inventory.adjust('tv-55', -2, { reason: 'damaged' });
 * } catch (error: unknown) {
 *   if (isStockConflictError(error)) console.log(error.held, error.onHand); // 2 3
 * }
 * ```
 */
export class StockConflictError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_STOCK_CONFLICT';
  /** The refused operation. */
  readonly operation: 'adjust' | 'setStockPolicy';
  /** The SKU. */
  readonly sku: string;
  /** The location whose promised units would be uncovered. */
  readonly location: string;
  /** Its on-hand units before the call. */
  readonly onHand: number;
  /** Its held units. */
  readonly held: number;

  /**
   * @param operation - The refused operation.
   * @param sku - The SKU.
   * @param location - The location at fault.
   * @param onHand - Its on-hand units.
   * @param held - Its held units.
   * @param detail - What the call asked for.
   */
  constructor(
    operation: 'adjust' | 'setStockPolicy',
    sku: string,
    location: string,
    onHand: number,
    held: number,
    detail: string,
  ) {
    super(
      StockConflictError.code,
      `${operation} ${JSON.stringify(sku)} at ${JSON.stringify(location)}: ${detail} would leave held units ` +
        `uncovered (on-hand ${onHand}, held ${held})`,
    );
    this.operation = operation;
    this.sku = sku;
    this.location = location;
    this.onHand = onHand;
    this.held = held;
  }
}

/** True when `error` is a {@link StockConflictError} from any copy of the package. */
export const isStockConflictError: (error: unknown) => error is StockConflictError = errorGuard<StockConflictError>(
  StockConflictError.code,
);

/** Order-insensitive equality of two per-SKU demand lists (each SKU once). */
export function sameItems(a: readonly ReservationItem[], b: readonly ReservationItem[]): boolean {
  if (a.length !== b.length) return false;
  for (const x of a) {
    let found = false;
    for (const y of b) {
      if (y.sku === x.sku) {
        if (y.qty !== x.qty) return false;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}
