/**
 * Oversell-safe inventory reservation: all-or-nothing holds on whole carts (demand summed per SKU), placed
 * over locations, confirmed into committed stock, released, extended or expired, over an atomic
 * {@link InventoryStore} (in memory by default; others prove themselves with `runInventoryStoreContract`).
 *
 * @example
 * ```ts
 * import { checkInventoryInvariants, Inventory } from 'system-design-blocks/inventory';
 *
 * const inventory = new Inventory({ holdTtl: 10 * 60_000 });
 * await inventory.restock('tv-55', 1_000, { location: 'incheon' });
 * await inventory.reserve({ reservationId: 'order-1', items: [{ sku: 'tv-55', qty: 1 }] });
 * await inventory.confirm('order-1');
 * console.log(checkInventoryInvariants(await inventory.snapshot())); // []
 * ```
 *
 * @module
 */
export { type InventoryStoreFactory, runInventoryStoreContract } from './contract.js';
export {
  InsufficientStockError,
  isInsufficientStockError,
  isReservationConflictError,
  isReservationExpiredError,
  isReservationNotFoundError,
  isReservationStateError,
  isStockConflictError,
  ReservationConflictError,
  ReservationExpiredError,
  ReservationNotFoundError,
  type ReservationOperation,
  ReservationStateError,
  StockConflictError,
} from './errors.js';
export { checkInventoryInvariants, type InventoryInvariant, type InventoryInvariantViolation } from './invariants.js';
export {
  type AdjustOptions,
  Inventory,
  type InventoryOptions,
  type InventorySweeperOptions,
  type ReservationEvent,
  type ReserveOutcome,
  type ReserveRequest,
  type RestockOptions,
  type StockChangedEvent,
  type StockShortfallEvent,
} from './inventory.js';
export { MemoryInventoryStore } from './memory-store.js';
export type {
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
  LocationAvailability,
  LocationStock,
  ReleasedReservation,
  Reservation,
  ReservationBase,
  ReservationItem,
  ReservationState,
  SkuAvailability,
  SkuStock,
  StockAllocation,
  StockAllocationStrategy,
  StockPolicy,
  StockShortfall,
} from './types.js';
