/**
 * Model-based test: random batches of concurrent operations (reserve, confirm, release, extend, clock
 * advances that expire holds, sweeps, restock, adjust, policy changes) run through `Inventory` over a store
 * whose every call has a request and a response delay that `fc.scheduler` orders at will. At each store
 * operation, in the order the store applied them, the reference model predicts the outcome; the real
 * outcome, the whole state and every invariant are checked right there.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSystemDesignError, ManualClock } from '../../src/core/index.js';
import {
  checkInventoryInvariants,
  Inventory,
  type InventorySnapshot,
  type InventoryStore,
  MemoryInventoryStore,
  type Reservation,
} from '../../src/inventory/index.js';
import { describeReservation, InventoryModel, type ModelOp, type Outcome } from './model.js';

const SKUS = ['A', 'B'] as const;
const LOCATIONS = ['w1', 'w2'] as const;
const IDS = ['r0', 'r1', 'r2', 'r3', 'r4'] as const;
const RETENTION = 25;

type Command =
  | {
      kind: 'reserve';
      id: string;
      items: { sku: string; qty: number }[];
      ttl: number;
      locations?: string[];
      strategy: 'priority' | 'mostAvailable';
      split: boolean;
    }
  | { kind: 'confirm' | 'release'; id: string }
  | { kind: 'extend'; id: string; ttl: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'sweep' }
  | { kind: 'restock'; sku: string; location: string; qty: number }
  | { kind: 'adjust'; sku: string; location: string; delta: number }
  | { kind: 'policy'; sku: string; safetyStock: number; backorderLimit: number }
  | { kind: 'read'; sku: string };

const sku = fc.constantFrom(...SKUS);
const location = fc.constantFrom(...LOCATIONS);
const id = fc.constantFrom(...IDS);
const ttl = fc.constantFrom(5, 10, 20);

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        kind: fc.constant('reserve' as const),
        id,
        items: fc.array(
          fc.record({
            sku: fc.oneof({ weight: 20, arbitrary: sku }, { weight: 1, arbitrary: fc.constant('C') }),
            qty: fc.integer({ min: 1, max: 3 }),
          }),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        ttl,
        locations: fc.oneof(fc.constant(undefined), fc.shuffledSubarray([...LOCATIONS], { minLength: 1 })),
        strategy: fc.constantFrom('priority' as const, 'mostAvailable' as const),
        split: fc.boolean(),
      },
      { requiredKeys: ['kind', 'id', 'items', 'ttl', 'strategy', 'split'] },
    ),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('confirm' as const), id }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), id }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), id, ttl }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'sweep' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('restock' as const), sku, location, qty: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('adjust' as const),
      sku,
      location,
      delta: fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('policy' as const),
      sku,
      safetyStock: fc.integer({ min: 0, max: 2 }),
      backorderLimit: fc.integer({ min: 0, max: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), sku }) },
);

function describeOutcome(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  if ('reservation' in value) {
    const r = (value as { reservation: Reservation }).reservation;
    return describeReservation(
      r.state,
      r.expiresAt,
      r.allocations.map((a) => [a.sku, a.location, a.qty] as const),
    );
  }
  if ('state' in value && 'allocations' in value) {
    const r = value as Reservation;
    return describeReservation(
      r.state,
      r.expiresAt,
      r.allocations.map((a) => [a.sku, a.location, a.qty] as const),
    );
  }
  if ('expired' in value && 'purged' in value) {
    const v = value as { expired: readonly Reservation[]; purged: number };
    return `expired [${v.expired
      .map((r) => r.id)
      .sort()
      .join(' ')}] purged ${v.purged}`;
  }
  if ('location' in value && 'onHand' in value) return `onHand ${(value as { onHand: number }).onHand}`;
  if ('safetyStock' in value && 'locations' in value) {
    return `available ${(value as unknown as { available: number }).available}`;
  }
  if ('ok' in value && value.ok === false) {
    const { shortfalls } = value as unknown as { shortfalls: { sku: string; requested: number; available: number }[] };
    return `short ${shortfalls.map((x) => `${x.sku} ${x.requested}/${x.available}`).join(' ')}`;
  }
  if ('safetyStock' in value) return 'policy';
  return JSON.stringify(value);
}

/** Model op for one store call, from the call's own input. */
function toModelOp(method: string, input: Record<string, unknown>): ModelOp | undefined {
  switch (method) {
    case 'restock':
      return {
        kind: 'restock',
        sku: input.sku as string,
        location: input.location as string,
        qty: input.qty as number,
      };
    case 'adjust':
      return {
        kind: 'adjust',
        sku: input.sku as string,
        location: input.location as string,
        delta: input.delta as number,
      };
    case 'setPolicy':
      return {
        kind: 'policy',
        sku: input.sku as string,
        safetyStock: input.safetyStock as number,
        backorderLimit: input.backorderLimit as number,
      };
    case 'reserve':
      return {
        kind: 'reserve',
        id: input.reservationId as string,
        items: input.items as { sku: string; qty: number }[],
        ttl: input.ttl as number,
        locations: input.locations as string[] | undefined,
        strategy: input.strategy as 'priority' | 'mostAvailable',
        split: input.split as boolean,
      };
    case 'confirm':
    case 'release':
      return { kind: method, id: input.reservationId as string };
    case 'extend':
      return { kind: 'extend', id: input.reservationId as string, ttl: input.ttl as number };
    case 'sweep':
      return { kind: 'sweep', purgeBefore: input.purgeBefore as number };
    case 'availability':
      return { kind: 'read', sku: input.sku as string };
    default:
      return undefined;
  }
}

function compareState(model: InventoryModel, snapshot: InventorySnapshot, where: string): void {
  const real: Record<string, unknown> = {};
  for (const s of snapshot.skus) {
    for (const l of s.locations) {
      real[`${s.sku}@${l.location}`] = [
        l.onHand,
        l.held,
        l.committed,
        l.received,
        l.adjusted,
        s.safetyStock,
        s.backorderLimit,
      ];
    }
  }
  const expected: Record<string, unknown> = {};
  for (const [skuName, s] of model.skus) {
    for (const [l, row] of s.locations) {
      expected[`${skuName}@${l}`] = [
        row.onHand,
        row.held,
        row.committed,
        row.received,
        row.adjusted,
        s.safetyStock,
        s.backorderLimit,
      ];
    }
  }
  expect(real, `stock after ${where}`).toEqual(expected);
  const realHolds = Object.fromEntries(snapshot.reservations.map((r) => [r.id, `${r.state}@${r.expiresAt}`]));
  const modelHolds = Object.fromEntries(
    [...model.reservations.values()].map((r) => [r.id, `${r.state}@${r.expiresAt}`]),
  );
  expect(realHolds, `reservations after ${where}`).toEqual(modelHolds);
}

interface Applied {
  readonly method: string;
  readonly input: Record<string, unknown>;
  outcome?: Outcome;
  snapshot?: InventorySnapshot;
}

/**
 * Delays each call's request and response through the scheduler. The real operation and a snapshot run
 * back to back in one synchronous stretch (the memory store never awaits), which is the operation's
 * linearisation point; the model is then fed the operations in exactly that order.
 */
function scheduledStore(
  real: MemoryInventoryStore,
  s: fc.Scheduler,
  model: InventoryModel,
  failures: string[],
): InventoryStore {
  const log: Applied[] = [];
  let checked = 0;
  const drain = (): void => {
    while (checked < log.length) {
      const entry = log[checked] as Applied;
      if (entry.outcome === undefined || entry.snapshot === undefined) return;
      checked++;
      const op = toModelOp(entry.method, entry.input);
      if (op === undefined) continue;
      const where = `${entry.method} ${JSON.stringify(entry.input)}`;
      try {
        const predicted = model.apply(op, entry.input.now as number);
        expect(entry.outcome, `outcome of ${where}`).toEqual(predicted);
        compareState(model, entry.snapshot, where);
        expect(checkInventoryInvariants(entry.snapshot), `invariants after ${where}`).toEqual([]);
      } catch (error: unknown) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  const call = (method: keyof InventoryStore) => async (input: Record<string, unknown>) => {
    await s.schedule(Promise.resolve(), `${method} request`);
    const entry: Applied = { method, input };
    log.push(entry);
    const fn = real[method] as (i: unknown) => Promise<unknown>;
    const result = fn.call(real, input);
    const snapshot = real.snapshot({ now: input.now as number });
    let value: unknown;
    let error: unknown;
    try {
      value = await result;
      entry.outcome = { ok: true, value: describeOutcome(value) };
    } catch (e: unknown) {
      error = e;
      entry.outcome = { ok: false, code: isSystemDesignError(e) ? e.code : String(e) };
    }
    entry.snapshot = await snapshot;
    drain();
    await s.schedule(Promise.resolve(), `${method} response`);
    if (error !== undefined) throw error;
    return value;
  };
  const store = {} as Record<string, unknown>;
  for (const method of [
    'restock',
    'adjust',
    'setPolicy',
    'reserve',
    'confirm',
    'release',
    'extend',
    'availability',
    'reservation',
    'sweep',
    'snapshot',
  ] as const) {
    store[method] = call(method);
  }
  return store as unknown as InventoryStore;
}

async function runCommand(inventory: Inventory, clock: ManualClock, c: Command): Promise<void> {
  const swallow = (error: unknown): void => {
    if (!isSystemDesignError(error)) throw error;
  };
  switch (c.kind) {
    case 'reserve':
      return inventory
        .reserve({
          reservationId: c.id,
          items: c.items,
          ttl: c.ttl,
          strategy: c.strategy,
          split: c.split,
          ...(c.locations === undefined ? {} : { locations: c.locations }),
        })
        .then(() => undefined, swallow);
    case 'confirm':
      return inventory.confirm(c.id).then(() => undefined, swallow);
    case 'release':
      return inventory.release(c.id).then(() => undefined, swallow);
    case 'extend':
      return inventory.extend(c.id, c.ttl).then(() => undefined, swallow);
    case 'advance':
      clock.advance(c.ms);
      return;
    case 'sweep':
      return inventory.sweepExpired().then(() => undefined);
    case 'restock':
      return inventory.restock(c.sku, c.qty, { location: c.location }).then(() => undefined);
    case 'adjust':
      return inventory.adjust(c.sku, c.delta, { location: c.location }).then(() => undefined, swallow);
    case 'policy':
      return inventory
        .setStockPolicy(c.sku, { safetyStock: c.safetyStock, backorderLimit: c.backorderLimit })
        .then(() => undefined, swallow);
    case 'read':
      return inventory.availability(c.sku).then(() => undefined);
  }
}

describe('Inventory against a reference model under fc.scheduler interleavings', () => {
  it('agrees with the model and keeps every invariant after every operation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(command, { minLength: 1, maxLength: 24 }), async (s, commands) => {
        const clock = new ManualClock(0);
        const model = new InventoryModel();
        const failures: string[] = [];
        const real = new MemoryInventoryStore();
        const inventory = new Inventory({
          store: scheduledStore(real, s, model, failures),
          clock,
          holdTtl: 10,
          retention: RETENTION,
        });
        const events = { reserved: 0, confirmed: 0, released: 0, expired: 0 };
        inventory.onReserved(() => events.reserved++);
        inventory.onConfirmed(() => events.confirmed++);
        inventory.onReleased(() => events.released++);
        inventory.onExpired(() => events.expired++);

        // Opening stock, through the same scheduled store.
        const opening = [
          inventory.restock('A', 3, { location: 'w1' }),
          inventory.restock('A', 2, { location: 'w2' }),
          inventory.restock('B', 2, { location: 'w1' }),
          inventory.restock('B', 1, { location: 'w2' }),
        ];
        await s.waitFor(Promise.all(opening));

        const running = commands.map((c, i) =>
          s.schedule(Promise.resolve(), `start ${i}: ${JSON.stringify(c)}`).then(() => runCommand(inventory, clock, c)),
        );
        await s.waitIdle();
        await Promise.all(running);

        // A final sweep far in the future: every hold ends, nothing leaks.
        clock.advance(1_000);
        await s.waitFor(inventory.sweepExpired());
        const end = await s.waitFor(inventory.snapshot());

        expect(failures, String(s.report())).toEqual([]);
        expect(checkInventoryInvariants(end)).toEqual([]);
        expect(end.reservations.filter((r) => r.state === 'held')).toEqual([]);
        expect(events).toEqual(model.counts);
      }),
      { numRuns: 150 },
    );
  });
});
