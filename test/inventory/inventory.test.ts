import { describe, expect, it } from 'vitest';
import { isAbortedError, isValidationError, ManualClock } from '../../src/core/index.js';
import {
  checkInventoryInvariants,
  type ExpiredReservation,
  Inventory,
  type InventoryOptions,
  isInsufficientStockError,
  isReservationConflictError,
  isReservationExpiredError,
  isReservationNotFoundError,
  isReservationStateError,
  isStockConflictError,
  MemoryInventoryStore,
  type ReserveRequest,
  type StockShortfallEvent,
} from '../../src/inventory/index.js';

async function setup(options: InventoryOptions = {}) {
  const clock = new ManualClock(1_000);
  const inventory = new Inventory({ clock, holdTtl: 100, ...options });
  await inventory.restock('A', 5, { location: 'w1' });
  await inventory.restock('A', 3, { location: 'w2' });
  await inventory.restock('B', 2, { location: 'w1' });
  return { clock, inventory };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error: unknown) {
    return error;
  }
  throw new Error('expected the call to fail');
}

function events(inventory: Inventory) {
  const log: string[] = [];
  const shortfalls: StockShortfallEvent[] = [];
  const expired: ExpiredReservation[] = [];
  inventory.onReserved((e) => log.push(`reserved:${e.reservation.id}`));
  inventory.onConfirmed((e) => log.push(`confirmed:${e.reservation.id}`));
  inventory.onReleased((e) => log.push(`released:${e.reservation.id}`));
  inventory.onExpired((e) => {
    log.push(`expired:${e.reservation.id}`);
    expired.push(e.reservation);
  });
  inventory.onShortfall((e) => {
    log.push(`shortfall:${e.reservationId}`);
    shortfalls.push(e);
  });
  inventory.onStockChanged((e) => log.push(`stock:${e.change}:${e.sku}@${e.location}:${e.delta}`));
  return { log, shortfalls, expired };
}

describe('Inventory options', () => {
  const cases: [string, unknown, string][] = [
    ['holdTtl 0', { holdTtl: 0 }, 'options.holdTtl'],
    ['holdTtl NaN', { holdTtl: Number.NaN }, 'options.holdTtl'],
    ['retention -1', { retention: -1 }, 'options.retention'],
    ['retention Infinity', { retention: Number.POSITIVE_INFINITY }, 'options.retention'],
    ['strategy', { strategy: 'random' }, 'options.strategy'],
    ['split', { split: 'yes' }, 'options.split'],
    ['defaultLocation', { defaultLocation: '' }, 'options.defaultLocation'],
    ['store', { store: {} }, 'options.store'],
    ['clock', { clock: 5 }, 'options.clock'],
    ['options', 5, 'options'],
  ];
  it.each(cases)('rejects a bad %s with a ValidationError naming it', (_name, options, argument) => {
    let error: unknown;
    try {
      new Inventory(options as InventoryOptions);
    } catch (e: unknown) {
      error = e;
    }
    expect(isValidationError(error)).toBe(true);
    expect(isValidationError(error) && error.argument).toBe(argument);
  });

  it('fills the documented defaults', () => {
    const inventory = new Inventory();
    expect(inventory.holdTtl).toBe(600_000);
    expect(inventory.retention).toBe(86_400_000);
  });
});

describe('bad input is a typed error and changes nothing', () => {
  type Call = (inventory: Inventory) => Promise<unknown>;
  const r =
    (request: unknown): Call =>
    (inv) =>
      inv.reserve(request as ReserveRequest);
  const ok = { reservationId: 'r1', items: [{ sku: 'A', qty: 1 }] };
  const validation: [string, Call, string][] = [
    ['restock sku', (inv) => inv.restock('', 1), 'sku'],
    ['restock sku type', (inv) => inv.restock(5 as unknown as string, 1), 'sku'],
    ['restock qty 0', (inv) => inv.restock('A', 0), 'qty'],
    ['restock qty -1', (inv) => inv.restock('A', -1), 'qty'],
    ['restock qty 1.5', (inv) => inv.restock('A', 1.5), 'qty'],
    ['restock qty NaN', (inv) => inv.restock('A', Number.NaN), 'qty'],
    ['restock qty string', (inv) => inv.restock('A', '3' as unknown as number), 'qty'],
    ['restock location', (inv) => inv.restock('A', 1, { location: '' }), 'options.location'],
    ['adjust delta 0', (inv) => inv.adjust('A', 0, { location: 'w1' }), 'delta'],
    ['adjust delta 1.5', (inv) => inv.adjust('A', 1.5, { location: 'w1' }), 'delta'],
    [
      'adjust reason',
      (inv) => inv.adjust('A', 1, { location: 'w1', reason: 5 as unknown as string }),
      'options.reason',
    ],
    ['adjust unknown sku', (inv) => inv.adjust('Z', 1, { location: 'w1' }), 'sku'],
    ['adjust unknown location', (inv) => inv.adjust('B', 1, { location: 'w2' }), 'options.location'],
    ['policy null', (inv) => inv.setStockPolicy('A', null as never), 'policy'],
    ['policy safety', (inv) => inv.setStockPolicy('A', { safetyStock: -1, backorderLimit: 0 }), 'policy.safetyStock'],
    [
      'policy backorder',
      (inv) => inv.setStockPolicy('A', { safetyStock: 0, backorderLimit: 1.5 }),
      'policy.backorderLimit',
    ],
    ['reserve request', r(null), 'request'],
    ['reserve id', r({ ...ok, reservationId: '' }), 'reservationId'],
    ['reserve empty cart', r({ ...ok, items: [] }), 'items'],
    ['reserve items type', r({ ...ok, items: 'A' }), 'items'],
    ['reserve line', r({ ...ok, items: [{ sku: 'A', qty: 1 }, null] }), 'items[1]'],
    [
      'reserve sku',
      r({
        ...ok,
        items: [
          { sku: 'A', qty: 1 },
          { sku: '', qty: 1 },
        ],
      }),
      'items[1].sku',
    ],
    [
      'reserve qty 0',
      r({
        ...ok,
        items: [
          { sku: 'A', qty: 1 },
          { sku: 'B', qty: 1 },
          { sku: 'A', qty: 0 },
        ],
      }),
      'items[2].qty',
    ],
    ['reserve qty -2', r({ ...ok, items: [{ sku: 'A', qty: -2 }] }), 'items[0].qty'],
    ['reserve qty 1.5', r({ ...ok, items: [{ sku: 'A', qty: 1.5 }] }), 'items[0].qty'],
    ['reserve qty string', r({ ...ok, items: [{ sku: 'A', qty: '1' }] }), 'items[0].qty'],
    [
      'reserve qty overflow',
      r({
        ...ok,
        items: [
          { sku: 'A', qty: Number.MAX_SAFE_INTEGER },
          { sku: 'A', qty: 1 },
        ],
      }),
      'items[1].qty',
    ],
    [
      'reserve unknown sku',
      r({
        ...ok,
        items: [
          { sku: 'A', qty: 1 },
          { sku: 'Z', qty: 1 },
        ],
      }),
      'items[1].sku',
    ],
    ['reserve ttl 0', r({ ...ok, ttl: 0 }), 'ttl'],
    ['reserve ttl Infinity', r({ ...ok, ttl: Number.POSITIVE_INFINITY }), 'ttl'],
    ['reserve locations', r({ ...ok, locations: 'w1' }), 'locations'],
    ['reserve location', r({ ...ok, locations: ['w1', ''] }), 'locations[1]'],
    ['reserve duplicate location', r({ ...ok, locations: ['w1', 'w2', 'w1'] }), 'locations[2]'],
    ['reserve unknown location', r({ ...ok, locations: ['w1', 'mars'] }), 'locations[1]'],
    ['reserve strategy', r({ ...ok, strategy: 'cheapest' }), 'strategy'],
    ['reserve split', r({ ...ok, split: 1 }), 'split'],
    ['reserve signal', r({ ...ok, signal: 'stop' }), 'signal'],
    ['confirm id', (inv) => inv.confirm(''), 'reservationId'],
    ['release id', (inv) => inv.release(7 as unknown as string), 'reservationId'],
    ['extend id', (inv) => inv.extend(''), 'reservationId'],
    ['extend ttl', (inv) => inv.extend('held', -1), 'ttl'],
    ['availability sku', (inv) => inv.availability(''), 'sku'],
    ['availability unknown', (inv) => inv.availability('Z'), 'sku'],
    ['reservation id', (inv) => inv.reservation(''), 'reservationId'],
    ['runSweeper signal', (inv) => inv.runSweeper({} as never), 'options.signal'],
    [
      'runSweeper interval',
      (inv) => inv.runSweeper({ interval: 0, signal: new AbortController().signal }),
      'options.interval',
    ],
  ];

  it.each(validation)('%s', async (_name, call, argument) => {
    const { inventory } = await setup();
    await inventory.reserve({ reservationId: 'held', items: [{ sku: 'A', qty: 1 }] });
    const before = await inventory.snapshot();
    const error = await caught(call(inventory));
    expect(isValidationError(error) && error.argument).toBe(argument);
    expect(await inventory.snapshot()).toEqual(before);
  });

  it('unknown reservation ids are ReservationNotFoundError and change nothing', async () => {
    const { inventory } = await setup();
    const before = await inventory.snapshot();
    for (const call of [inventory.confirm('x'), inventory.release('x'), inventory.extend('x')]) {
      const error = await caught(call);
      expect(isReservationNotFoundError(error) && error.reservationId).toBe('x');
    }
    expect(await inventory.reservation('x')).toBeUndefined();
    expect(await inventory.snapshot()).toEqual(before);
  });

  it('a shortfall is an InsufficientStockError with every short SKU, and nothing is held', async () => {
    const { inventory } = await setup();
    const seen = events(inventory);
    const before = await inventory.snapshot();
    const error = await caught(
      inventory.reserve({
        reservationId: 'big',
        items: [
          { sku: 'A', qty: 4 },
          { sku: 'B', qty: 3 },
          { sku: 'A', qty: 2 },
        ],
      }),
    );
    expect(isInsufficientStockError(error)).toBe(true);
    const expected = [
      { sku: 'A', requested: 6, available: 5, shortfall: 1 },
      { sku: 'B', requested: 3, available: 2, shortfall: 1 },
    ];
    expect(isInsufficientStockError(error) && error.shortfalls).toEqual(expected);
    expect(seen.shortfalls).toEqual([
      {
        reservationId: 'big',
        items: [
          { sku: 'A', qty: 4 },
          { sku: 'B', qty: 3 },
          { sku: 'A', qty: 2 },
        ],
        shortfalls: expected,
        at: 1_000,
      },
    ]);
    expect(seen.log).toEqual(['shortfall:big']);
    expect(await inventory.snapshot()).toEqual(before);
  });

  it('an aborted signal stops reserve before the store and holds nothing', async () => {
    const { inventory } = await setup();
    const controller = new AbortController();
    controller.abort();
    const error = await caught(
      inventory.reserve({ reservationId: 'r', items: [{ sku: 'A', qty: 1 }], signal: controller.signal }),
    );
    expect(isAbortedError(error)).toBe(true);
    expect(await inventory.reservation('r')).toBeUndefined();
    const reason = new Error('user left');
    const custom = new AbortController();
    custom.abort(reason);
    expect(
      await caught(inventory.reserve({ reservationId: 'r', items: [{ sku: 'A', qty: 1 }], signal: custom.signal })),
    ).toBe(reason);
  });

  it('adjust below what is held is a StockConflictError and changes nothing', async () => {
    const { inventory } = await setup();
    await inventory.reserve({ reservationId: 'r', items: [{ sku: 'B', qty: 2 }] });
    const before = await inventory.snapshot();
    const error = await caught(inventory.adjust('B', -1, { location: 'w1', reason: 'broken' }));
    expect(isStockConflictError(error) && [error.sku, error.location, error.onHand, error.held]).toEqual([
      'B',
      'w1',
      2,
      2,
    ]);
    expect(await inventory.snapshot()).toEqual(before);
  });
});

describe('duplicate-SKU carts', () => {
  it('sums the lines: two lines of 2 on a stock of 3 are refused, 2 + 1 is held as one demand of 3', async () => {
    const inventory = new Inventory({ clock: new ManualClock() });
    await inventory.restock('A', 3);
    const error = await caught(
      inventory.reserve({
        reservationId: 'dup',
        items: [
          { sku: 'A', qty: 2 },
          { sku: 'A', qty: 2 },
        ],
      }),
    );
    expect(isInsufficientStockError(error) && error.shortfalls).toEqual([
      { sku: 'A', requested: 4, available: 3, shortfall: 1 },
    ]);
    expect((await inventory.availability('A')).held).toBe(0);
    const hold = await inventory.reserve({
      reservationId: 'ok',
      items: [
        { sku: 'A', qty: 2 },
        { sku: 'A', qty: 1 },
      ],
    });
    expect(hold.items).toEqual([{ sku: 'A', qty: 3 }]);
    expect((await inventory.availability('A')).available).toBe(0);
    expect(checkInventoryInvariants(await inventory.snapshot())).toEqual([]);
  });
});

describe('idempotent retries of reserve', () => {
  it('concurrent retries of one request hold once and all get the same hold', async () => {
    const { inventory } = await setup();
    const seen = events(inventory);
    const request = {
      reservationId: 'order-1',
      items: [
        { sku: 'A', qty: 2 },
        { sku: 'B', qty: 1 },
      ],
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => inventory.reserve(request)));
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(seen.log.filter((l) => l.startsWith('reserved'))).toEqual(['reserved:order-1']);
    expect((await inventory.availability('A')).held).toBe(2);
    expect((await inventory.availability('B')).held).toBe(1);
  });

  it('a retry after confirm gets the confirmation; other items are a conflict; a retry after expiry is expired', async () => {
    const { inventory, clock } = await setup();
    await inventory.reserve({ reservationId: 'o1', items: [{ sku: 'A', qty: 1 }] });
    await inventory.confirm('o1');
    const replay = await inventory.reserve({ reservationId: 'o1', items: [{ sku: 'A', qty: 1 }] });
    expect(replay.state).toBe('confirmed');
    expect(
      isReservationConflictError(
        await caught(inventory.reserve({ reservationId: 'o1', items: [{ sku: 'B', qty: 1 }] })),
      ),
    ).toBe(true);
    await inventory.reserve({ reservationId: 'o2', items: [{ sku: 'A', qty: 1 }] });
    clock.advance(100);
    const expired = await caught(inventory.reserve({ reservationId: 'o2', items: [{ sku: 'A', qty: 1 }] }));
    expect(isReservationExpiredError(expired) && expired.expiredAt).toBe(1_100);
  });

  it('after retention an id is forgotten and can be used again', async () => {
    const { inventory, clock } = await setup({ retention: 1_000 });
    await inventory.reserve({ reservationId: 'o1', items: [{ sku: 'A', qty: 1 }] });
    await inventory.release('o1');
    clock.advance(999);
    expect((await inventory.sweepExpired()).purged).toBe(0);
    clock.advance(1);
    expect((await inventory.sweepExpired()).purged).toBe(1);
    expect(await inventory.reservation('o1')).toBeUndefined();
    const again = await inventory.reserve({ reservationId: 'o1', items: [{ sku: 'A', qty: 1 }] });
    expect(again.state).toBe('held');
  });
});

describe('confirm and sweep racing at the same instant', () => {
  async function race(order: 'confirmFirst' | 'sweepFirst', offset: number) {
    const clock = new ManualClock(0);
    const inventory = new Inventory({ clock, holdTtl: 1_000 });
    const seen = events(inventory);
    await inventory.restock('A', 1);
    await inventory.reserve({ reservationId: 'r', items: [{ sku: 'A', qty: 1 }] });
    clock.advance(1_000 + offset);
    const confirm = inventory.confirm('r').then(
      (r) => r.state,
      (error: unknown) => (isReservationExpiredError(error) ? 'expired-error' : String(error)),
    );
    const sweep = inventory.sweepExpired();
    const [outcome, swept] =
      order === 'confirmFirst'
        ? await Promise.all([confirm, sweep])
        : await Promise.all([sweep, confirm]).then(([s, c]) => [c, s] as const);
    const a = await inventory.availability('A');
    expect(checkInventoryInvariants(await inventory.snapshot())).toEqual([]);
    return { outcome, swept: swept.expired.map((r) => r.id), seen, a };
  }

  for (const order of ['confirmFirst', 'sweepFirst'] as const) {
    it(`at the expiry instant the hold is expired whichever runs first (${order})`, async () => {
      const { outcome, swept, seen, a } = await race(order, 0);
      expect(outcome).toBe('expired-error');
      expect(swept).toEqual(['r']);
      expect(seen.log.filter((l) => l.startsWith('expired') || l.startsWith('confirmed'))).toEqual(['expired:r']);
      expect([a.onHand, a.held, a.committed, a.available]).toEqual([1, 0, 0, 1]);
    });

    it(`1 ms before expiry the confirm wins whichever runs first (${order})`, async () => {
      const { outcome, swept, seen, a } = await race(order, -1);
      expect(outcome).toBe('confirmed');
      expect(swept).toEqual([]);
      expect(seen.log.filter((l) => l.startsWith('expired') || l.startsWith('confirmed'))).toEqual(['confirmed:r']);
      expect([a.onHand, a.held, a.committed, a.available]).toEqual([0, 0, 1, 0]);
    });
  }

  it('release at the expiry instant leaves the hold expired and emits no release', async () => {
    const clock = new ManualClock(0);
    const inventory = new Inventory({ clock, holdTtl: 50 });
    const seen = events(inventory);
    await inventory.restock('A', 1);
    await inventory.reserve({ reservationId: 'r', items: [{ sku: 'A', qty: 1 }] });
    clock.advance(50);
    const [released, swept] = await Promise.all([inventory.release('r'), inventory.sweepExpired()]);
    expect(released.state).toBe('expired');
    expect(swept.expired.map((r) => r.id)).toEqual(['r']);
    expect(seen.log.filter((l) => !l.startsWith('stock'))).toEqual(['reserved:r', 'expired:r']);
  });
});

describe('lifecycle and events', () => {
  it('reserve → confirm / release / extend / expire, with one event each', async () => {
    const { inventory, clock } = await setup();
    const seen = events(inventory);
    await inventory.reserve({ reservationId: 'c', items: [{ sku: 'A', qty: 2 }] });
    await inventory.reserve({ reservationId: 'r', items: [{ sku: 'A', qty: 1 }] });
    await inventory.reserve({ reservationId: 'x', items: [{ sku: 'B', qty: 1 }] });
    await inventory.reserve({ reservationId: 'e', items: [{ sku: 'B', qty: 1 }] });
    await inventory.confirm('c');
    await inventory.confirm('c');
    await inventory.release('r');
    await inventory.release('r');
    clock.advance(60);
    const extended = await inventory.extend('x');
    expect(extended.expiresAt).toBe(1_160);
    clock.advance(40);
    expect((await inventory.reservation('e'))?.state).toBe('expired');
    expect((await inventory.reservation('x'))?.state).toBe('held');
    const { expired } = await inventory.sweepExpired();
    expect(expired.map((r) => r.id)).toEqual(['e']);
    expect(seen.log).toEqual([
      'reserved:c',
      'reserved:r',
      'reserved:x',
      'reserved:e',
      'confirmed:c',
      'released:r',
      'expired:e',
    ]);
    const a = await inventory.availability('A');
    expect(a).toEqual({
      sku: 'A',
      safetyStock: 0,
      backorderLimit: 0,
      onHand: 6,
      held: 0,
      committed: 2,
      available: 6,
      locations: [
        { location: 'w1', onHand: 3, held: 0, committed: 2, available: 3 },
        { location: 'w2', onHand: 3, held: 0, committed: 0, available: 3 },
      ],
    });
    expect(checkInventoryInvariants(await inventory.snapshot())).toEqual([]);
  });

  it('restock and adjust emit onStockChanged; a disposed listener hears nothing more', async () => {
    const inventory = new Inventory({ clock: new ManualClock(5) });
    const seen: string[] = [];
    const handle = inventory.onStockChanged((e) =>
      seen.push(`${e.change}:${e.delta}:${e.reason}:${e.stock.onHand}@${e.at}`),
    );
    await inventory.restock('A', 4);
    await inventory.adjust('A', -1, { reason: 'cycle count' });
    handle.dispose();
    await inventory.restock('A', 1);
    expect(seen).toEqual(['restock:4:undefined:4@5', 'adjust:-1:cycle count:3@5']);
  });

  it('safety stock and backorders show in availability per location and in total', async () => {
    const inventory = new Inventory({ clock: new ManualClock() });
    await inventory.restock('A', 10, { location: 'w1' });
    await inventory.restock('A', 1, { location: 'w2' });
    await inventory.setStockPolicy('A', { safetyStock: 2, backorderLimit: 1 });
    const a = await inventory.availability('A');
    expect(a.locations.map((l) => l.available)).toEqual([8, -1]);
    expect(a.available).toBe(7);
    // w1 can give 8 from stock + 1 backordered; w2's one unit is below its safety stock, and its backorder
    // allowance only brings it back to zero.
    const short = await caught(inventory.reserve({ reservationId: 'r', items: [{ sku: 'A', qty: 10 }], split: true }));
    expect(isInsufficientStockError(short) && short.shortfalls[0]?.available).toBe(9);
    await inventory.reserve({ reservationId: 'r', items: [{ sku: 'A', qty: 9 }], split: true });
    const after = await inventory.availability('A');
    expect(after.locations.map((l) => [l.held, l.available])).toEqual([
      [9, -1],
      [0, -1],
    ]);
    // Held 9 of 10 on hand: nothing is actually backordered, so the allowance may drop to 0.
    await inventory.setStockPolicy('A', { safetyStock: 2, backorderLimit: 0 });
    expect(checkInventoryInvariants(await inventory.snapshot())).toEqual([]);
  });

  it('a confirmed hold cannot be released', async () => {
    const { inventory } = await setup();
    await inventory.reserve({ reservationId: 'c', items: [{ sku: 'A', qty: 1 }] });
    await inventory.confirm('c');
    const error = await caught(inventory.release('c'));
    expect(isReservationStateError(error) && [error.state, error.operation]).toEqual(['confirmed', 'release']);
  });

  it('runSweeper sweeps on the clock until aborted', async () => {
    const { inventory, clock } = await setup();
    const seen = events(inventory);
    const stop = new AbortController();
    const running = inventory.runSweeper({ interval: 30, signal: stop.signal });
    await inventory.reserve({ reservationId: 'r', items: [{ sku: 'A', qty: 1 }] });
    await clock.advanceAsync(90);
    expect(seen.expired).toEqual([]);
    await clock.advanceAsync(30);
    expect(seen.expired.map((r) => r.id)).toEqual(['r']);
    stop.abort();
    await expect(running).resolves.toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('returns frozen data', async () => {
    const { inventory } = await setup();
    const hold = await inventory.reserve({ reservationId: 'r', items: [{ sku: 'A', qty: 1 }] });
    expect(Object.isFrozen(hold)).toBe(true);
    expect(Object.isFrozen(hold.allocations[0])).toBe(true);
    expect(Object.isFrozen(await inventory.availability('A'))).toBe(true);
  });

  it('accepts a custom store', async () => {
    const store = new MemoryInventoryStore();
    const inventory = new Inventory({ store, clock: new ManualClock() });
    await inventory.restock('A', 1);
    expect((await store.availability({ sku: 'A', now: 0 })).onHand).toBe(1);
  });
});
