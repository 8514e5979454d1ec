import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import {
  createPaymentProcessor,
  type IdempotencyStore,
  idempotent,
  isIdempotencyInProgressError,
  isPaymentDeclinedError,
  MemoryIdempotencyStore,
  type PaymentChargeReceipt,
  SimulatedGateway,
  type SimulatedGatewayFault,
} from '../../src/idempotency/index.js';
import { settle } from './support.js';

/** Every store call becomes a task the fast-check scheduler releases in an order of its choosing. */
function scheduledStore(s: fc.Scheduler, store: IdempotencyStore): IdempotencyStore {
  return {
    begin: s.scheduleFunction((input) => store.begin(input)),
    checkpoint: s.scheduleFunction((input) => store.checkpoint(input)),
    complete: s.scheduleFunction((input) => store.complete(input)),
    release: s.scheduleFunction((input) => store.release(input)),
    get: s.scheduleFunction((input) => store.get(input)),
    listUnfinished: s.scheduleFunction((input) => store.listUnfinished(input)),
  };
}

describe('interleavings (fc.scheduler)', () => {
  it('concurrent duplicates: the handler runs once, everyone else is told it is in progress or gets the replay', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 6 }), async (s, n) => {
        const store = scheduledStore(s, new MemoryIdempotencyStore({ clock: new ManualClock() }));
        let runs = 0;
        const fn = idempotent<{ key: string }, { run: number }>(
          async () => {
            const run = ++runs;
            await s.schedule(Promise.resolve());
            return { run };
          },
          { store, key: (r) => r.key, scope: () => 'c' },
        );
        const calls = Array.from({ length: n }, () => settle(fn({ key: 'k' })));
        const results = await s.waitFor(Promise.all(calls));
        expect(runs).toBe(1);
        const ok = results.filter((r) => r.ok);
        expect(ok.length).toBeGreaterThanOrEqual(1);
        for (const r of results) {
          if (r.ok) expect(r.value.value).toEqual({ run: 1 });
          else expect(isIdempotencyInProgressError(r.error)).toBe(true);
        }
        expect(await s.waitFor(fn({ key: 'k' }))).toMatchObject({ value: { run: 1 }, replayed: true });
      }),
      { numRuns: 150 },
    );
  });

  it('payments under any interleaving, gateway faults and lease expiry: at most one charge, one answer', async () => {
    const faultArb = fc.constantFrom<SimulatedGatewayFault>('none', 'none', 'timeout', 'unavailable', 'decline');
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 2, max: 4 }),
        fc.array(faultArb, { minLength: 8, maxLength: 8 }),
        fc.boolean(),
        async (s, n, faults, expireLeases) => {
          const clock = new ManualClock();
          const raw = new MemoryIdempotencyStore({ clock });
          let call = 0;
          let faultsOn = true;
          const gateway = new SimulatedGateway({
            clock,
            fault: () => (faultsOn ? (faults[call++ % faults.length] ?? 'none') : 'none'),
          });
          const paymentMethod = gateway.createPaymentMethod({ number: '4242424242424242', expMonth: 1, expYear: 2031 });
          let ids = 0;
          const make = (store: IdempotencyStore) =>
            createPaymentProcessor({
              gateway,
              store,
              clock,
              lease: 1_000,
              gatewayAttempts: 1,
              generateId: () => `p${++ids}`,
            });
          const processors = [make(scheduledStore(s, raw)), make(scheduledStore(s, raw))];
          const request = { idempotencyKey: 'k', customerId: 'c', amount: 700, currency: 'USD', paymentMethod };
          const calls = Array.from({ length: n }, (_, i) =>
            settle((processors[i % 2] as (typeof processors)[0]).charge(request)),
          );
          const jump = expireLeases
            ? s.schedule(Promise.resolve()).then(() => clock.advance(1_001))
            : Promise.resolve();
          const [results] = await s.waitFor(Promise.all([Promise.all(calls), jump]));
          expect(gateway.chargeCount).toBeLessThanOrEqual(1);
          const receipts = results
            .filter((r) => r.ok)
            .map((r) => (r as { value: { value: PaymentChargeReceipt } }).value.value);
          expect(new Set(receipts.map((r) => r.chargeId)).size).toBeLessThanOrEqual(1);

          // Without faults, each duplicate's retry (after any lease has run out) gets the same answer.
          faultsOn = false;
          clock.advance(1_001);
          const plain = make(raw);
          const finals = [];
          for (let i = 0; i < n; i++) finals.push(await settle(plain.charge(request)));
          const charge = gateway.charges()[0];
          for (const f of finals) {
            if (f.ok) {
              expect(f.value.value.chargeId).toBe(charge?.chargeId);
              for (const r of receipts) expect(r).toEqual(f.value.value);
            } else {
              expect(isPaymentDeclinedError(f.error)).toBe(true);
              expect(gateway.chargeCount).toBe(0);
            }
          }
          expect(gateway.chargeCount).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
