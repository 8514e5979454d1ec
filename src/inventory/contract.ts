/**
 * The contract every {@link InventoryStore} must pass: the in-memory store runs it in this package's tests,
 * a Redis or PostgreSQL store runs it in its own. Assertions use `node:assert/strict`.
 */
import assert from 'node:assert/strict';
import type { ContractTest } from '../core/index.js';
import { isValidationError } from '../core/index.js';
import {
  isReservationConflictError,
  isReservationExpiredError,
  isReservationNotFoundError,
  isReservationStateError,
  isStockConflictError,
} from './errors.js';
import { checkInventoryInvariants } from './invariants.js';
import type {
  InventoryStore,
  InventoryStoreReserveInput,
  InventoryStoreReserveResult,
  Reservation,
  ReservationItem,
  StockAllocation,
} from './types.js';

/** Makes a fresh, empty store for one contract test. */
export type InventoryStoreFactory = () => InventoryStore | Promise<InventoryStore>;

const T0 = 1_000;

function cart(...lines: [string, number][]): ReservationItem[] {
  return lines.map(([sku, qty]) => ({ sku, qty }));
}

function request(
  reservationId: string,
  items: readonly ReservationItem[],
  extra: Partial<InventoryStoreReserveInput> = {},
): InventoryStoreReserveInput {
  return {
    reservationId,
    items,
    locations: undefined,
    strategy: 'priority',
    split: false,
    ttl: 1_000,
    now: T0,
    ...extra,
  };
}

function placed(allocations: readonly StockAllocation[]): string[] {
  return allocations.map((a) => `${a.sku}@${a.location}:${a.qty}`).sort();
}

async function rejectsWith(
  promise: Promise<unknown>,
  guard: (error: unknown) => boolean,
  name: string,
): Promise<unknown> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    assert.ok(guard(error), `expected ${name}, got ${String(error)}`);
    return true;
  });
  return caught;
}

/** Runs `fn` (which must fail) and asserts the store's snapshot is exactly what it was. */
async function failsAndChangesNothing(
  store: InventoryStore,
  now: number,
  fn: () => Promise<unknown>,
  guard: (error: unknown) => boolean,
  name: string,
): Promise<unknown> {
  const before = await store.snapshot({ now });
  const error = await rejectsWith(fn(), guard, name);
  assert.deepEqual(await store.snapshot({ now }), before, `a failed call (${name}) changed the store`);
  return error;
}

/** Reserves and asserts the hold (or replay) was granted. */
async function hold(
  store: InventoryStore,
  input: InventoryStoreReserveInput,
): Promise<Extract<InventoryStoreReserveResult, { ok: true }>> {
  const result = await store.reserve(input);
  assert.ok(result.ok, `expected a hold for ${input.reservationId}, got ${JSON.stringify(result)}`);
  return result;
}

/** Reserves, asserts a refusal for lack of stock, and asserts nothing changed. */
async function refused(
  store: InventoryStore,
  now: number,
  input: InventoryStoreReserveInput,
): Promise<Extract<InventoryStoreReserveResult, { ok: false }>> {
  const before = await store.snapshot({ now });
  const result = await store.reserve(input);
  assert.equal(result.ok, false, `expected ${input.reservationId} to be refused`);
  assert.ok(!result.ok);
  assert.ok(result.shortfalls.length > 0);
  assert.deepEqual(await store.snapshot({ now }), before, 'a refused reservation changed the store');
  return result;
}

async function invariantsHold(store: InventoryStore, now: number): Promise<void> {
  assert.deepEqual(checkInventoryInvariants(await store.snapshot({ now })), []);
}

async function available(store: InventoryStore, sku: string, now = T0): Promise<number> {
  return (await store.availability({ sku, now })).available;
}

/**
 * Registers the {@link InventoryStore} contract: stock, all-or-nothing reservations with demand summed per
 * SKU, allocation strategies, idempotent replays, confirm/release/extend, lazy expiry and sweeps, safety
 * stock and backorders, adjustments, retention, monotonic time, concurrency, and that failed calls change
 * nothing. Each test gets a fresh store from `factory`.
 *
 * @param test - Your runner's `it`/`test`.
 * @param factory - Makes an empty store.
 * @example
 * ```ts
 * import { it } from 'vitest';
 * import { MemoryInventoryStore, runInventoryStoreContract } from 'system-design-blocks/inventory';
 *
 * runInventoryStoreContract(it, () => new MemoryInventoryStore());
 * ```
 */
export function runInventoryStoreContract(test: ContractTest, factory: InventoryStoreFactory): void {
  test('restock creates the SKU and location and adds up per location', async () => {
    const store = await factory();
    const first = await store.restock({ sku: 'A', location: 'w1', qty: 5, now: T0 });
    assert.deepEqual({ ...first }, { location: 'w1', onHand: 5, held: 0, committed: 0, received: 5, adjusted: 0 });
    await store.restock({ sku: 'A', location: 'w2', qty: 2, now: T0 });
    await store.restock({ sku: 'A', location: 'w1', qty: 3, now: T0 });
    const a = await store.availability({ sku: 'A', now: T0 });
    assert.equal(a.onHand, 10);
    assert.equal(a.available, 10);
    assert.deepEqual(
      a.locations.map((l) => [l.location, l.onHand, l.available]),
      [
        ['w1', 8, 8],
        ['w2', 2, 2],
      ],
    );
    await rejectsWith(store.availability({ sku: 'nope', now: T0 }), isValidationError, 'ValidationError');
  });

  test('reserve holds every line or none, and lists every short SKU', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 5, now: T0 });
    await store.restock({ sku: 'B', location: 'w1', qty: 1, now: T0 });
    await store.restock({ sku: 'C', location: 'w1', qty: 1, now: T0 });
    const error = await refused(store, T0, request('r1', cart(['A', 2], ['B', 2], ['C', 3])));
    assert.deepEqual(
      error.shortfalls.map((s) => ({ ...s })),
      [
        { sku: 'B', requested: 2, available: 1, shortfall: 1 },
        { sku: 'C', requested: 3, available: 1, shortfall: 2 },
      ],
    );
    assert.equal(await store.reservation({ reservationId: 'r1', now: T0 }), undefined);
    const { reservation, created } = await hold(store, request('r1', cart(['A', 2], ['B', 1])));
    assert.equal(created, true);
    assert.equal(reservation.state, 'held');
    assert.equal(reservation.expiresAt, T0 + 1_000);
    assert.equal(reservation.createdAt, T0);
    assert.equal(await available(store, 'A'), 3);
    assert.equal(await available(store, 'B'), 0);
    await invariantsHold(store, T0);
  });

  test('lines of the same SKU are summed into one demand', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 3, now: T0 });
    const error = await refused(store, T0, request('r1', cart(['A', 2], ['A', 2])));
    assert.deepEqual({ ...error.shortfalls[0] }, { sku: 'A', requested: 4, available: 3, shortfall: 1 });
    const { reservation } = await hold(store, request('r2', cart(['A', 1], ['A', 2])));
    assert.deepEqual(
      reservation.items.map((i) => ({ ...i })),
      [{ sku: 'A', qty: 3 }],
    );
    assert.deepEqual(placed(reservation.allocations), ['A@w1:3']);
    assert.equal(await available(store, 'A'), 0);
    await invariantsHold(store, T0);
  });

  test('unknown SKUs and locations are ValidationErrors and change nothing', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 3, now: T0 });
    await store.restock({ sku: 'B', location: 'w2', qty: 3, now: T0 });
    await failsAndChangesNothing(
      store,
      T0,
      () => store.reserve(request('r1', cart(['A', 1], ['ghost', 1]))),
      isValidationError,
      'ValidationError',
    );
    await failsAndChangesNothing(
      store,
      T0,
      () => store.reserve(request('r1', cart(['A', 1]), { locations: ['w1', 'mars'] })),
      isValidationError,
      'ValidationError',
    );
    await failsAndChangesNothing(
      store,
      T0,
      () => store.adjust({ sku: 'ghost', location: 'w1', delta: 1, reason: undefined, now: T0 }),
      isValidationError,
      'ValidationError',
    );
    await failsAndChangesNothing(
      store,
      T0,
      () => store.adjust({ sku: 'A', location: 'w2', delta: 1, reason: undefined, now: T0 }),
      isValidationError,
      'ValidationError',
    );
  });

  test('priority: the first candidate location that covers the demand, in the given order', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 2, now: T0 });
    await store.restock({ sku: 'A', location: 'w2', qty: 5, now: T0 });
    const big = await hold(store, request('r1', cart(['A', 3])));
    assert.deepEqual(placed(big.reservation.allocations), ['A@w2:3']);
    const small = await hold(store, request('r2', cart(['A', 1])));
    assert.deepEqual(placed(small.reservation.allocations), ['A@w1:1']);
    const ordered = await hold(store, request('r3', cart(['A', 1]), { locations: ['w2', 'w1'] }));
    assert.deepEqual(placed(ordered.reservation.allocations), ['A@w2:1']);
    // A candidate list restricts the locations: w1 has 1 left, so 2 units from w1 alone are short.
    const error = await refused(store, T0, request('r4', cart(['A', 2]), { locations: ['w1'] }));
    assert.equal(error.shortfalls[0]?.available, 1);
    await invariantsHold(store, T0);
  });

  test('mostAvailable: the location with the most free stock first', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 2, now: T0 });
    await store.restock({ sku: 'A', location: 'w2', qty: 5, now: T0 });
    await store.restock({ sku: 'A', location: 'w3', qty: 4, now: T0 });
    const r1 = await hold(store, request('r1', cart(['A', 1]), { strategy: 'mostAvailable' }));
    assert.deepEqual(placed(r1.reservation.allocations), ['A@w2:1']);
    const r2 = await hold(store, request('r2', cart(['A', 2]), { strategy: 'mostAvailable' }));
    // w2 and w3 both have 4 free now: ties keep the priority order.
    assert.deepEqual(placed(r2.reservation.allocations), ['A@w2:2']);
    const r3 = await hold(store, request('r3', cart(['A', 6]), { strategy: 'mostAvailable', split: true }));
    // Free now: w1 2, w2 2, w3 4: w3 first, then w1 (ties in priority order).
    assert.deepEqual(placed(r3.reservation.allocations), ['A@w1:2', 'A@w3:4']);
    await invariantsHold(store, T0);
  });

  test('split fills one demand across locations; without split one location must cover it', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 2, now: T0 });
    await store.restock({ sku: 'A', location: 'w2', qty: 3, now: T0 });
    const error = await refused(store, T0, request('r1', cart(['A', 4])));
    assert.deepEqual({ ...error.shortfalls[0] }, { sku: 'A', requested: 4, available: 3, shortfall: 1 });
    const { reservation } = await hold(store, request('r1', cart(['A', 4]), { split: true }));
    assert.deepEqual(placed(reservation.allocations), ['A@w1:2', 'A@w2:2']);
    const over = await refused(store, T0, request('r2', cart(['A', 2]), { split: true }));
    assert.equal(over.shortfalls[0]?.available, 1);
    await invariantsHold(store, T0);
  });

  test('a replay with the same items returns the existing hold without holding again', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 3, now: T0 });
    await store.restock({ sku: 'B', location: 'w1', qty: 3, now: T0 });
    const first = await hold(store, request('r1', cart(['A', 2], ['B', 1])));
    // Same demand per SKU, lines in another order and split differently: the same request.
    const again = await hold(store, request('r1', cart(['B', 1], ['A', 1], ['A', 1]), { now: T0 + 10 }));
    assert.equal(again.created, false);
    assert.deepEqual({ ...again.reservation }, { ...first.reservation });
    assert.equal(await available(store, 'A'), 1);
    // Even once the stock is gone, the replay still answers with the hold.
    await hold(store, request('r2', cart(['A', 1])));
    const late = await hold(store, request('r1', cart(['A', 2], ['B', 1])));
    assert.equal(late.reservation.state, 'held');
    await invariantsHold(store, T0);
  });

  test('the same id with other items is a conflict and changes nothing', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 5, now: T0 });
    await hold(store, request('r1', cart(['A', 1])));
    const error = await failsAndChangesNothing(
      store,
      T0,
      () => store.reserve(request('r1', cart(['A', 2]))),
      isReservationConflictError,
      'ReservationConflictError',
    );
    assert.ok(isReservationConflictError(error));
    assert.equal(error.existing.state, 'held');
    assert.deepEqual(
      error.existing.items.map((i) => ({ ...i })),
      [{ sku: 'A', qty: 1 }],
    );
  });

  test('confirm commits the held units: on-hand and held go down, committed up; a replay is a no-op', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 2, now: T0 });
    await store.restock({ sku: 'A', location: 'w2', qty: 2, now: T0 });
    await hold(store, request('r1', cart(['A', 3]), { split: true }));
    const done = await store.confirm({ reservationId: 'r1', now: T0 + 5 });
    assert.equal(done.changed, true);
    assert.equal(done.reservation.state, 'confirmed');
    assert.equal(done.reservation.confirmedAt, T0 + 5);
    const a = await store.availability({ sku: 'A', now: T0 + 5 });
    assert.deepEqual([a.onHand, a.held, a.committed, a.available], [1, 0, 3, 1]);
    const again = await store.confirm({ reservationId: 'r1', now: T0 + 6 });
    assert.equal(again.changed, false);
    assert.equal(again.reservation.confirmedAt, T0 + 5);
    const replay = await hold(store, request('r1', cart(['A', 3]), { now: T0 + 7 }));
    assert.equal(replay.created, false);
    assert.equal(replay.reservation.state, 'confirmed');
    await invariantsHold(store, T0 + 7);
  });

  test('release returns the units; releasing again is a no-op; a released id cannot be confirmed or reused', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 2, now: T0 });
    await hold(store, request('r1', cart(['A', 2])));
    const out = await store.release({ reservationId: 'r1', now: T0 + 1 });
    assert.equal(out.changed, true);
    assert.equal(out.reservation.state, 'released');
    assert.equal(out.reservation.state === 'released' && out.reservation.releasedAt, T0 + 1);
    assert.equal(await available(store, 'A', T0 + 1), 2);
    const again = await store.release({ reservationId: 'r1', now: T0 + 2 });
    assert.equal(again.changed, false);
    const s = await failsAndChangesNothing(
      store,
      T0 + 2,
      () => store.confirm({ reservationId: 'r1', now: T0 + 2 }),
      isReservationStateError,
      'ReservationStateError',
    );
    assert.ok(isReservationStateError(s));
    assert.deepEqual([s.state, s.operation], ['released', 'confirm']);
    await failsAndChangesNothing(
      store,
      T0 + 2,
      () => store.reserve(request('r1', cart(['A', 2]), { now: T0 + 2 })),
      isReservationConflictError,
      'ReservationConflictError',
    );
    await failsAndChangesNothing(
      store,
      T0 + 2,
      () => store.extend({ reservationId: 'r1', ttl: 10, now: T0 + 2 }),
      isReservationStateError,
      'ReservationStateError',
    );
  });

  test('a confirmed hold cannot be released or extended; unknown ids are not found', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 2, now: T0 });
    await hold(store, request('r1', cart(['A', 1])));
    await store.confirm({ reservationId: 'r1', now: T0 });
    await failsAndChangesNothing(
      store,
      T0,
      () => store.release({ reservationId: 'r1', now: T0 }),
      isReservationStateError,
      'ReservationStateError',
    );
    await failsAndChangesNothing(
      store,
      T0,
      () => store.extend({ reservationId: 'r1', ttl: 10, now: T0 }),
      isReservationStateError,
      'ReservationStateError',
    );
    for (const call of [
      () => store.confirm({ reservationId: 'ghost', now: T0 }),
      () => store.release({ reservationId: 'ghost', now: T0 }),
      () => store.extend({ reservationId: 'ghost', ttl: 10, now: T0 }),
    ]) {
      await failsAndChangesNothing(store, T0, call, isReservationNotFoundError, 'ReservationNotFoundError');
    }
    assert.equal(await store.reservation({ reservationId: 'ghost', now: T0 }), undefined);
  });

  test('a hold stops counting at its expiry instant, before any sweep', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 2, now: T0 });
    await hold(store, request('r1', cart(['A', 2]), { ttl: 100 }));
    const end = T0 + 100;
    assert.equal((await store.reservation({ reservationId: 'r1', now: end - 1 }))?.state, 'held');
    assert.equal(await available(store, 'A', end - 1), 0);
    assert.equal(await available(store, 'A', end), 2);
    assert.equal((await store.reservation({ reservationId: 'r1', now: end }))?.state, 'expired');
    const e = await failsAndChangesNothing(
      store,
      end,
      () => store.confirm({ reservationId: 'r1', now: end }),
      isReservationExpiredError,
      'ReservationExpiredError',
    );
    assert.ok(isReservationExpiredError(e));
    assert.equal(e.expiredAt, end);
    await failsAndChangesNothing(
      store,
      end,
      () => store.extend({ reservationId: 'r1', ttl: 100, now: end }),
      isReservationExpiredError,
      'ReservationExpiredError',
    );
    await failsAndChangesNothing(
      store,
      end,
      () => store.reserve(request('r1', cart(['A', 2]), { now: end })),
      isReservationExpiredError,
      'ReservationExpiredError',
    );
    const released = await store.release({ reservationId: 'r1', now: end });
    assert.deepEqual([released.changed, released.reservation.state], [false, 'expired']);
    await invariantsHold(store, end);
  });

  test('sweep reports each expired hold exactly once, including those already seen lazily', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 5, now: T0 });
    await hold(store, request('r1', cart(['A', 1]), { ttl: 10 }));
    await hold(store, request('r2', cart(['A', 1]), { ttl: 20 }));
    await hold(store, request('r3', cart(['A', 1]), { ttl: 30 }));
    await store.confirm({ reservationId: 'r3', now: T0 + 1 });
    await store.availability({ sku: 'A', now: T0 + 15 }); // sees r1 expired lazily
    const first = await store.sweep({ now: T0 + 25, purgeBefore: 0 });
    assert.deepEqual(first.expired.map((r) => [r.id, r.state, r.expiresAt]).sort(), [
      ['r1', 'expired', T0 + 10],
      ['r2', 'expired', T0 + 20],
    ]);
    const second = await store.sweep({ now: T0 + 100, purgeBefore: 0 });
    assert.deepEqual(second.expired, []);
    assert.equal(await available(store, 'A', T0 + 100), 4);
    await invariantsHold(store, T0 + 100);
  });

  test('extend keeps a hold longer, never shorter', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 1, now: T0 });
    await hold(store, request('r1', cart(['A', 1]), { ttl: 100 }));
    const longer = await store.extend({ reservationId: 'r1', ttl: 500, now: T0 + 50 });
    assert.equal(longer.expiresAt, T0 + 550);
    const shorter = await store.extend({ reservationId: 'r1', ttl: 10, now: T0 + 60 });
    assert.equal(shorter.expiresAt, T0 + 550);
    assert.equal(await available(store, 'A', T0 + 549), 0);
    assert.equal((await store.sweep({ now: T0 + 549, purgeBefore: 0 })).expired.length, 0);
    assert.equal(await available(store, 'A', T0 + 550), 1);
    const swept = await store.sweep({ now: T0 + 550, purgeBefore: 0 });
    assert.deepEqual(
      swept.expired.map((r) => r.expiresAt),
      [T0 + 550],
    );
  });

  test('store time never goes backwards: an expired hold stays expired for a late caller', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 1, now: T0 });
    await hold(store, request('r1', cart(['A', 1]), { ttl: 100 }));
    assert.equal(await available(store, 'A', T0 + 200), 1);
    await rejectsWith(
      store.confirm({ reservationId: 'r1', now: T0 + 50 }),
      isReservationExpiredError,
      'ReservationExpiredError',
    );
    assert.equal((await store.reservation({ reservationId: 'r1', now: T0 + 50 }))?.state, 'expired');
    // A hold placed with an old clock still lives its full TTL from the store's time.
    const late = await hold(store, request('r2', cart(['A', 1]), { ttl: 100, now: T0 + 60 }));
    assert.equal(late.reservation.expiresAt, T0 + 300);
  });

  test('safety stock is never held; backorders go up to the allowance and commit below zero', async () => {
    const store = await factory();
    await store.setPolicy({ sku: 'A', safetyStock: 2, backorderLimit: 0, now: T0 });
    await store.restock({ sku: 'A', location: 'w1', qty: 10, now: T0 });
    assert.equal(await available(store, 'A'), 8);
    const short = await refused(store, T0, request('r1', cart(['A', 9])));
    assert.equal(short.shortfalls[0]?.available, 8);
    await hold(store, request('r1', cart(['A', 8])));
    assert.equal(await available(store, 'A'), 0);
    const policy = await store.setPolicy({ sku: 'A', safetyStock: 2, backorderLimit: 3, now: T0 });
    assert.deepEqual({ ...policy }, { safetyStock: 2, backorderLimit: 3 });
    await hold(store, request('r2', cart(['A', 3])));
    await refused(store, T0, request('r3', cart(['A', 1])));
    const a = await store.availability({ sku: 'A', now: T0 });
    assert.deepEqual([a.onHand, a.held, a.available, a.safetyStock, a.backorderLimit], [10, 11, -3, 2, 3]);
    await store.confirm({ reservationId: 'r1', now: T0 });
    await store.confirm({ reservationId: 'r2', now: T0 });
    const after = await store.availability({ sku: 'A', now: T0 });
    assert.deepEqual([after.onHand, after.held, after.committed], [-1, 0, 11]);
    await invariantsHold(store, T0);
  });

  test('split uses stock everywhere before any backorder allowance', async () => {
    const store = await factory();
    await store.setPolicy({ sku: 'A', safetyStock: 0, backorderLimit: 5, now: T0 });
    await store.restock({ sku: 'A', location: 'w1', qty: 1, now: T0 });
    await store.restock({ sku: 'A', location: 'w2', qty: 2, now: T0 });
    const { reservation } = await hold(store, request('r1', cart(['A', 5]), { split: true }));
    assert.deepEqual(placed(reservation.allocations), ['A@w1:3', 'A@w2:2']);
    await invariantsHold(store, T0);
  });

  test('adjust corrects on-hand but never below the units held there', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 5, now: T0 });
    await hold(store, request('r1', cart(['A', 3])));
    const down = await store.adjust({ sku: 'A', location: 'w1', delta: -2, reason: 'damaged', now: T0 });
    assert.deepEqual([down.onHand, down.held, down.adjusted], [3, 3, -2]);
    const error = await failsAndChangesNothing(
      store,
      T0,
      () => store.adjust({ sku: 'A', location: 'w1', delta: -1, reason: 'lost', now: T0 }),
      isStockConflictError,
      'StockConflictError',
    );
    assert.ok(isStockConflictError(error));
    assert.deepEqual([error.onHand, error.held, error.operation], [3, 3, 'adjust']);
    const up = await store.adjust({ sku: 'A', location: 'w1', delta: 4, reason: 'found', now: T0 });
    assert.deepEqual([up.onHand, up.adjusted, up.received], [7, 2, 5]);
    await invariantsHold(store, T0);
  });

  test('the backorder allowance cannot drop below the backorders outstanding', async () => {
    const store = await factory();
    await store.setPolicy({ sku: 'A', safetyStock: 0, backorderLimit: 4, now: T0 });
    await store.restock({ sku: 'A', location: 'w1', qty: 1, now: T0 });
    await hold(store, request('r1', cart(['A', 4])));
    const error = await failsAndChangesNothing(
      store,
      T0,
      () => store.setPolicy({ sku: 'A', safetyStock: 0, backorderLimit: 2, now: T0 }),
      isStockConflictError,
      'StockConflictError',
    );
    assert.ok(isStockConflictError(error));
    assert.equal(error.operation, 'setStockPolicy');
    await store.setPolicy({ sku: 'A', safetyStock: 5, backorderLimit: 3, now: T0 });
    await invariantsHold(store, T0);
  });

  test('sweep drops ended reservations past retention, never live holds', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 5, now: T0 });
    await hold(store, request('done', cart(['A', 1]), { ttl: 1_000 }));
    await hold(store, request('gone', cart(['A', 1]), { ttl: 1_000 }));
    await hold(store, request('live', cart(['A', 1]), { ttl: 10_000 }));
    await hold(store, request('lapsed', cart(['A', 1]), { ttl: 50 }));
    await store.confirm({ reservationId: 'done', now: T0 + 10 });
    await store.release({ reservationId: 'gone', now: T0 + 20 });
    const early = await store.sweep({ now: T0 + 100, purgeBefore: T0 + 15 });
    assert.equal(early.purged, 1);
    assert.equal(await store.reservation({ reservationId: 'done', now: T0 + 100 }), undefined);
    const later = await store.sweep({ now: T0 + 200, purgeBefore: T0 + 200 });
    assert.equal(later.purged, 2);
    const kept = (await store.snapshot({ now: T0 + 200 })).reservations.map((r) => r.id);
    assert.deepEqual(kept, ['live']);
    await invariantsHold(store, T0 + 200);
  });

  test('concurrent reservations never take more than the stock', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 15, now: T0 });
    await store.restock({ sku: 'A', location: 'w2', qty: 10, now: T0 });
    const calls = Array.from({ length: 60 }, (_, i) =>
      store.reserve(request(`r${i}`, cart(['A', 1]), { split: true })).then((r) => r.ok),
    );
    const won = (await Promise.all(calls)).filter(Boolean).length;
    assert.equal(won, 25);
    assert.equal(await available(store, 'A'), 0);
    await invariantsHold(store, T0);
  });

  test('concurrent replays of one id place one hold', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 10, now: T0 });
    const results = await Promise.all(Array.from({ length: 20 }, () => store.reserve(request('r1', cart(['A', 2])))));
    assert.equal(results.filter((r) => r.ok && r.created).length, 1);
    assert.equal(results.filter((r) => r.ok).length, 20);
    assert.equal(await available(store, 'A'), 8);
    await invariantsHold(store, T0);
  });

  test('what the store returns cannot change what it keeps', async () => {
    const store = await factory();
    await store.restock({ sku: 'A', location: 'w1', qty: 10, now: T0 });
    const { reservation } = await hold(store, request('r1', cart(['A', 2])));
    const tamper = (target: object): void => {
      try {
        Object.assign(target, { qty: 99, state: 'confirmed', held: 0 });
      } catch {
        // frozen: fine
      }
    };
    tamper(reservation);
    for (const a of reservation.allocations) tamper(a);
    const snap = await store.snapshot({ now: T0 });
    for (const s of snap.skus) for (const l of s.locations) tamper(l);
    const again = (await store.reservation({ reservationId: 'r1', now: T0 })) as Reservation;
    assert.equal(again.state, 'held');
    assert.deepEqual(placed(again.allocations), ['A@w1:2']);
    assert.equal((await store.availability({ sku: 'A', now: T0 })).held, 2);
  });
}
