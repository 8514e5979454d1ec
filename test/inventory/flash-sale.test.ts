/**
 * The flash-sale harness of `examples/flash-sale-inventory.ts`, scaled down, against the real store and
 * against a naive check-then-act store: the harness must see the oversell when it happens.
 */
import { describe, expect, it } from 'vitest';
import { runFlashSale } from '../../examples/flash-sale-inventory.js';
import { MemoryInventoryStore } from '../../src/inventory/index.js';
import { CheckThenActStore } from './support/check-then-act-store.js';

const sale = {
  buyers: 4_000,
  stock: [
    ['incheon', 60],
    ['busan', 40],
  ],
} as const;

describe('flash-sale harness', () => {
  it('MemoryInventoryStore: sells exactly the stock, no oversell, no leaked hold, nothing left while demand remains', async () => {
    const r = await runFlashSale({ ...sale, store: new MemoryInventoryStore(), seed: 1 });
    expect(r.stock).toBe(100);
    expect(r.sold).toBe(100);
    expect(r.oversold).toBe(0);
    expect(r.unitsInConfirmedOrders).toBe(100);
    expect(r.leakedHolds).toBe(0);
    expect(r.unsoldWhileDemandRemained).toBe(0);
    expect(r.invariantViolations).toBe(0);
    // The scenario really exercised abandonment, payment failures and retries.
    expect(r.abandoned).toBeGreaterThan(0);
    expect(r.paymentFailures).toBeGreaterThan(0);
    expect(r.expiredBySweep).toBe(r.abandoned);
    expect(r.retryWaves).toBeGreaterThan(0);
  });

  it('a naive check-then-act store (read, await, write) oversells, and the harness reports it', async () => {
    const r = await runFlashSale({ ...sale, store: new CheckThenActStore(), seed: 1 });
    expect(r.oversold).toBeGreaterThan(0);
    expect(r.sold).toBeGreaterThan(r.stock);
    expect(r.invariantViolations).toBeGreaterThan(0);
  });
});
