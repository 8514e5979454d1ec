/**
 * Flash sale without overselling (the guide's inventory question, "How do you design an inventory system
 * that prevents overselling?", under a flash-sale spike): 1,000 units of one TV across two warehouses,
 * 100,000 buyers arriving at once with carts of 1–3 lines, some abandoning their carts (holds expire), some
 * failing payment (holds released), refused buyers retrying as units come back. Time runs on a ManualClock,
 * so the whole sale takes a few seconds.
 *
 * `runFlashSale` is the harness: the tests run it against a naive check-then-act store to show what
 * oversell looks like.
 */
import { ManualClock, seededRandom } from 'system-design-blocks';
import {
  checkInventoryInvariants,
  Inventory,
  type InventoryStore,
  isReservationExpiredError,
  MemoryInventoryStore,
  type ReservationItem,
} from 'system-design-blocks/inventory';
import { defineScenario } from './support/scenario.js';

/** The hot SKU of the sale. */
export const HOT_SKU = 'tv-55-oled';
const ACCESSORIES = ['hdmi-cable', 'wall-mount'] as const;

/** Knobs of {@link runFlashSale}. */
export interface FlashSaleOptions {
  /** The store under test. @defaultValue a new MemoryInventoryStore */
  readonly store?: InventoryStore;
  /** Buyers arriving at the same instant. @defaultValue 100_000 */
  readonly buyers?: number;
  /** Units of the hot SKU per warehouse. @defaultValue incheon 600, busan 400 */
  readonly stock?: readonly (readonly [location: string, qty: number])[];
  /** Share of winning buyers who walk away (their hold expires). @defaultValue 0.08 */
  readonly abandonRate?: number;
  /** Share of winning buyers whose payment fails (their hold is released). @defaultValue 0.05 */
  readonly paymentFailureRate?: number;
  /** Seed of the buyers' choices. @defaultValue 2024 */
  readonly seed?: number;
}

/** What a sale did. */
export interface FlashSaleReport {
  readonly stock: number;
  readonly sold: number;
  readonly oversold: number;
  readonly ordersConfirmed: number;
  /** Hot units bought by the confirmed orders, counted buyer by buyer. */
  readonly unitsInConfirmedOrders: number;
  readonly firstWaveHolds: number;
  readonly abandoned: number;
  readonly paymentFailures: number;
  readonly expiredBySweep: number;
  readonly retryWaves: number;
  readonly reserveCalls: number;
  readonly refused: number;
  readonly buyersStillWaiting: number;
  readonly leakedHolds: number;
  readonly unsoldWhileDemandRemained: number;
  readonly invariantViolations: number;
  readonly wallMs: number;
  readonly simulatedMs: number;
}

type Fate = 'pay' | 'abandon' | 'paymentFails';

const HOLD_TTL = 120_000;
const STEP = 10_000;
const WAVE = 2_000;

/**
 * Runs one flash sale against `options.store` and reports what was sold, oversold, leaked and left unsold.
 * It does not judge: the caller checks the numbers (the example expects zeros; the test of a naive store
 * expects oversell).
 */
export async function runFlashSale(options: FlashSaleOptions = {}): Promise<FlashSaleReport> {
  const random = seededRandom(options.seed ?? 2024);
  const buyers = options.buyers ?? 100_000;
  const stockPlan = options.stock ?? [
    ['incheon', 600],
    ['busan', 400],
  ];
  const abandonRate = options.abandonRate ?? 0.08;
  const failureRate = options.paymentFailureRate ?? 0.05;
  const clock = new ManualClock(0);
  const inventory = new Inventory({
    store: options.store ?? new MemoryInventoryStore(),
    clock,
    holdTtl: HOLD_TTL,
    split: true, // a buyer of 2 gets one from each warehouse rather than nothing
  });

  let stock = 0;
  for (const [location, qty] of stockPlan) {
    await inventory.restock(HOT_SKU, qty, { location });
    stock += qty;
  }
  await inventory.restock(ACCESSORIES[0], 10_000_000, { location: 'incheon' });
  await inventory.restock(ACCESSORIES[1], 10_000_000, { location: 'busan' });

  // Carts: the TV (1 or 2), then up to two more lines: an accessory, or the TV again on its own line.
  const carts: ReservationItem[][] = [];
  const hotDemand: number[] = [];
  const fates: Fate[] = [];
  for (let b = 0; b < buyers; b++) {
    const cart: ReservationItem[] = [{ sku: HOT_SKU, qty: random() < 0.15 ? 2 : 1 }];
    const extra = Math.floor(random() * 3);
    for (let k = 0; k < extra; k++) {
      if (random() < 0.25) cart.push({ sku: HOT_SKU, qty: 1 });
      else cart.push({ sku: ACCESSORIES[random() < 0.5 ? 0 : 1], qty: 1 + Math.floor(random() * 2) });
    }
    carts.push(cart);
    hotDemand.push(cart.reduce((sum, line) => sum + (line.sku === HOT_SKU ? line.qty : 0), 0));
    const r = random();
    fates.push(r < abandonRate ? 'abandon' : r < abandonRate + failureRate ? 'paymentFails' : 'pay');
  }

  let reserveCalls = 0;
  let refused = 0;
  let abandoned = 0;
  let paymentFailures = 0;
  let ordersConfirmed = 0;
  let unitsInConfirmedOrders = 0;
  let expiredBySweep = 0;
  let retryWaves = 0;
  const waiting: number[] = [];
  const payments: Promise<void>[] = [];

  const pay = (b: number, reservationId: string): void => {
    const fate = fates[b] as Fate;
    if (fate === 'abandon') {
      abandoned++; // walks away: the hold will expire
      return;
    }
    // Payment takes 5–60 s of simulated time, well within the hold's TTL.
    const paying = clock.sleep(5_000 + Math.floor(random() * 55_000)).then(async () => {
      if (fate === 'paymentFails') {
        await inventory.release(reservationId);
        paymentFailures++;
        waiting.push(b); // they will try again
        return;
      }
      try {
        await inventory.confirm(reservationId);
        ordersConfirmed++;
        unitsInConfirmedOrders += hotDemand[b] as number;
      } catch (error: unknown) {
        if (!isReservationExpiredError(error)) throw error;
        waiting.push(b);
      }
    });
    payments.push(paying);
  };

  // One buyer's attempt. tryReserve: a refusal is the common case here, returned rather than thrown.
  const attempt = (b: number, wave: number): Promise<boolean> => {
    const reservationId = `order-${b}-${wave}`;
    reserveCalls++;
    return inventory.tryReserve({ reservationId, items: carts[b] as ReservationItem[] }).then((outcome) => {
      if (!outcome.ok) {
        refused++;
        waiting.push(b);
        return false;
      }
      pay(b, reservationId);
      return true;
    });
  };

  const started = performance.now();
  // The spike: every buyer at the same instant.
  const firstWave = await Promise.all(Array.from({ length: buyers }, (_, b) => attempt(b, 0)));
  const firstWaveHolds = firstWave.filter(Boolean).length;

  // Then time moves on: payments finish, abandoned holds expire and are swept, refused buyers retry.
  for (let step = 0; step < 2_000; step++) {
    const a = await inventory.availability(HOT_SKU);
    if (a.committed >= stock) break;
    if (waiting.length === 0 && a.held === 0) break;
    await clock.advanceAsync(STEP);
    expiredBySweep += (await inventory.sweepExpired()).expired.length;
    const now = await inventory.availability(HOT_SKU);
    if (now.available > 0 && waiting.length > 0) {
      retryWaves++;
      const wave = waiting.splice(0, Math.min(WAVE, waiting.length));
      await Promise.all(wave.map((b) => attempt(b, retryWaves)));
    }
  }
  // Let every started payment finish, then let every hold still open run out and sweep.
  await clock.advanceAsync(HOLD_TTL);
  await Promise.all(payments);
  expiredBySweep += (await inventory.sweepExpired()).expired.length;
  const wallMs = performance.now() - started;

  const end = await inventory.availability(HOT_SKU);
  const snapshot = await inventory.snapshot();
  const leakedHolds = snapshot.reservations.filter((r) => r.state === 'held').length + end.held;
  const sold = end.committed;
  return {
    stock,
    sold,
    oversold: Math.max(0, sold - stock),
    ordersConfirmed,
    unitsInConfirmedOrders,
    firstWaveHolds,
    abandoned,
    paymentFailures,
    expiredBySweep,
    retryWaves,
    reserveCalls,
    refused,
    buyersStillWaiting: waiting.length,
    leakedHolds,
    unsoldWhileDemandRemained: waiting.length > 0 ? Math.max(0, stock - sold) : 0,
    invariantViolations: checkInventoryInvariants(snapshot).length,
    wallMs,
    simulatedMs: clock.now(),
  };
}

const n = (value: number): string => value.toLocaleString('en-US');

export const scenario = defineScenario(import.meta.url, {
  name: 'flash-sale-inventory',
  title: 'Flash sale: 100,000 buyers, 1,000 TVs, zero oversell',
  guide:
    'Inventory and Warehouse Management: "How do you design an inventory system that prevents overselling?" (flash-sale spikes)',
  blocks: ['inventory'],
  async run({ log, check }) {
    const r = await runFlashSale();
    log(`${n(r.stock)} units of ${HOT_SKU} (600 in incheon, 400 in busan); ${n(100_000)} buyers arrive at once`);
    log(`carts of 1–3 lines, some with the TV on two lines (demand is summed per SKU before anything is held)`);
    log(`first wave: ${n(r.firstWaveHolds)} holds, ${n(100_000 - r.firstWaveHolds)} refused with the shortfall`);
    log(
      `${n(r.abandoned)} carts abandoned (holds expired, ${n(r.expiredBySweep)} swept), ` +
        `${n(r.paymentFailures)} payments failed (holds released)`,
    );
    log(`freed units went to ${r.retryWaves} retry waves of waiting buyers over ${r.simulatedMs / 1000} simulated s`);
    log(
      `sold ${n(r.sold)} units in ${n(r.ordersConfirmed)} orders; ${n(r.buyersStillWaiting)} buyers left waiting; ` +
        `${n(r.reserveCalls)} reserve calls in ${Math.round(r.wallMs)} ms ` +
        `(${n(Math.round((r.reserveCalls / r.wallMs) * 1000))} reservations/s)`,
    );
    check('units sold = units in stock', r.sold === r.stock, `${n(r.sold)} of ${n(r.stock)}`);
    check('oversold: 0', r.oversold === 0, String(r.oversold));
    check('confirmed orders account for every unit sold', r.unitsInConfirmedOrders === r.sold);
    check('holds leaked after the sweep: 0', r.leakedHolds === 0, String(r.leakedHolds));
    check(
      'units left unsold while demand remained: 0',
      r.unsoldWhileDemandRemained === 0,
      String(r.unsoldWhileDemandRemained),
    );
    check('checkInventoryInvariants: no violation', r.invariantViolations === 0, String(r.invariantViolations));
  },
});
