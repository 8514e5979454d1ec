/**
 * Inventory benchmark: reservations/s of `Inventory` + `MemoryInventoryStore` against the hand-written
 * baseline (check-then-act over an async table, guarded by one `async-mutex` lock per SKU), on one hot SKU
 * and spread over 1,000 SKUs, and the cost of a 3-item cart against a 1-item cart.
 *
 * Each measured call places 64 reservations concurrently (a burst of buyers), then releases them, so the
 * stock never runs out and both sides do the same work: one reservation = one reserve + one release. Our
 * side also sweeps (retention 0) every 16 bursts so ended reservations do not pile up. Ratios come from
 * interleaved rounds of one run.
 */
import { ManualClock } from '../../src/core/index.js';
import { Inventory, MemoryInventoryStore, type ReservationItem } from '../../src/inventory/index.js';
import { compare } from '../lib/harness.js';
import { type Benchmark, type BenchReport, type ResultTable, target } from '../lib/types.js';
import { MutexInventory } from './naive.js';

const BURST = 64;
const SKUS = 1_000;
const HOT = 'hot-sku';
const PLENTY = 1_000_000_000_000;

type Cart = (n: number) => ReservationItem[];

const hotCart: Cart = () => [{ sku: HOT, qty: 1 }];
const spreadCart: Cart = (n) => [{ sku: `sku-${n % SKUS}`, qty: 1 }];
const threeItemCart: Cart = (n) => [
  { sku: `sku-${n % SKUS}`, qty: 1 },
  { sku: `sku-${(n + 337) % SKUS}`, qty: 2 },
  { sku: `sku-${(n + 671) % SKUS}`, qty: 1 },
];

interface Side {
  readonly burst: (prefix: string, call: number, cart: Cart) => Promise<void>;
  readonly heldTotal: () => Promise<number>;
}

async function ours(): Promise<Side> {
  const clock = new ManualClock();
  const inventory = new Inventory({ store: new MemoryInventoryStore(), clock, retention: 0 });
  await inventory.restock(HOT, PLENTY);
  for (let s = 0; s < SKUS; s++) await inventory.restock(`sku-${s}`, PLENTY);
  const ids = Array.from({ length: BURST }, () => '');
  return {
    async burst(prefix, call, cart) {
      const base = call * BURST;
      const holds: Promise<unknown>[] = [];
      for (let k = 0; k < BURST; k++) {
        const id = `${prefix}${base + k}`;
        ids[k] = id;
        holds.push(inventory.reserve({ reservationId: id, items: cart(base + k) }));
      }
      await Promise.all(holds);
      await Promise.all(ids.map((id) => inventory.release(id)));
      if ((call & 15) === 0) {
        clock.advance(1);
        await inventory.sweepExpired();
      }
    },
    async heldTotal() {
      let held = (await inventory.availability(HOT)).held;
      for (let s = 0; s < SKUS; s++) held += (await inventory.availability(`sku-${s}`)).held;
      return held;
    },
  };
}

async function naive(): Promise<Side> {
  const inventory = new MutexInventory();
  await inventory.restock(HOT, PLENTY);
  for (let s = 0; s < SKUS; s++) await inventory.restock(`sku-${s}`, PLENTY);
  const ids = Array.from({ length: BURST }, () => '');
  return {
    async burst(prefix, call, cart) {
      const base = call * BURST;
      const holds: Promise<boolean>[] = [];
      for (let k = 0; k < BURST; k++) {
        const id = `${prefix}${base + k}`;
        ids[k] = id;
        holds.push(inventory.reserve(id, cart(base + k)));
      }
      const placed = await Promise.all(holds);
      if (placed.includes(false)) throw new Error('baseline refused a reservation with plenty of stock');
      await Promise.all(ids.map((id) => inventory.release(id)));
    },
    async heldTotal() {
      let held = await inventory.held(HOT);
      for (let s = 0; s < SKUS; s++) held += await inventory.held(`sku-${s}`);
      return held;
    },
  };
}

/**
 * CPU time per reservation of each side, in alternating blocks of bursts (process.cpuUsage: user + system,
 * GC threads included). On a shared machine wall-clock batch rates swing with the neighbours' load; CPU
 * time does much less, so this is the cross-check of the wall-clock ratios.
 */
async function cpuPerReservation(
  sides: readonly Side[],
  cart: Cart,
  prefix: string,
  blocks: number,
): Promise<number[]> {
  const cpu = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system; // µs
  };
  const totals = sides.map(() => 0);
  const bursts = 50;
  let call = 0;
  for (let block = 0; block < blocks; block++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[k] as Side;
      const t0 = cpu();
      for (let i = 0; i < bursts; i++) await side.burst(prefix, call++, cart);
      totals[k] = (totals[k] as number) + cpu() - t0;
    }
  }
  return totals.map((t) => t / (blocks * bursts * BURST));
}

export const benchmark: Benchmark = {
  name: 'inventory',
  description:
    'Inventory + MemoryInventoryStore vs a check-then-act implementation guarded by async-mutex: reservations/s ' +
    'on one hot SKU and on 1,000 SKUs (bursts of 64 concurrent reserves, then releases), 3-item vs 1-item carts',
  async run({ quick, log }): Promise<BenchReport> {
    const a = await ours();
    const b = await naive();
    const cases = [
      { name: 'Inventory · hot SKU', side: a, cart: hotCart, prefix: 'h' },
      { name: 'mutex baseline · hot SKU', side: b, cart: hotCart, prefix: 'h' },
      { name: 'Inventory · 1,000 SKUs', side: a, cart: spreadCart, prefix: 's' },
      { name: 'mutex baseline · 1,000 SKUs', side: b, cart: spreadCart, prefix: 's' },
      { name: 'Inventory · 3-item cart', side: a, cart: threeItemCart, prefix: 'c' },
      { name: 'mutex baseline · 3-item cart', side: b, cart: threeItemCart, prefix: 'c' },
    ] as const;
    log(`${cases.length} cases, bursts of ${BURST} concurrent reservations${quick ? ' (quick)' : ''}`);
    const measured = await compare(
      cases.map((c) => ({ name: c.name, fn: (i: number) => c.side.burst(c.prefix, i, c.cart), opsPerCall: BURST })),
      // Full runs: more and longer batches than the harness default, the machine being shared and GC-heavy.
      quick ? { quick } : { rounds: 31, batchMs: 80 },
    );
    const rate = (name: (typeof cases)[number]['name']): number =>
      (measured.find((m) => m.name === name) as { opsPerSec: number }).opsPerSec;
    const spreadOf = (name: string): number =>
      (measured.find((m) => m.name === name) as { spreadPct: number }).spreadPct;

    log('cross-check: CPU time per reservation');
    const [cpuOursHot, cpuNaiveHot] = await cpuPerReservation([a, b], hotCart, 'u', quick ? 2 : 20);
    const [cpuOursSpread, cpuNaiveSpread] = await cpuPerReservation([a, b], spreadCart, 'v', quick ? 2 : 20);

    const leftover = [await a.heldTotal(), await b.heldTotal()];
    if (leftover.some((h) => h !== 0)) throw new Error(`units still held after the run: ${leftover.join(', ')}`);

    const hotRatio = rate('Inventory · hot SKU') / rate('mutex baseline · hot SKU');
    const spreadRatio = rate('Inventory · 1,000 SKUs') / rate('mutex baseline · 1,000 SKUs');
    const cartRatio = rate('Inventory · 3-item cart') / rate('mutex baseline · 3-item cart');
    const oursCartCost = rate('Inventory · 1,000 SKUs') / rate('Inventory · 3-item cart');
    const naiveCartCost = rate('mutex baseline · 1,000 SKUs') / rate('mutex baseline · 3-item cart');

    const rates: ResultTable = {
      title: 'reservations/s (one reservation = reserve + release; 64 concurrent per burst)',
      columns: ['workload', 'Inventory', 'mutex baseline', 'Inventory ×'],
      rows: [
        ['one hot SKU', rate('Inventory · hot SKU'), rate('mutex baseline · hot SKU'), hotRatio],
        ['1,000 SKUs, 1-item carts', rate('Inventory · 1,000 SKUs'), rate('mutex baseline · 1,000 SKUs'), spreadRatio],
        ['1,000 SKUs, 3-item carts', rate('Inventory · 3-item cart'), rate('mutex baseline · 3-item cart'), cartRatio],
      ],
    };
    const cost: ResultTable = {
      title: 'cost of a 3-item cart relative to a 1-item cart (time per reservation, 1,000 SKUs)',
      columns: ['implementation', '3-item / 1-item'],
      rows: [
        ['Inventory', oursCartCost],
        ['mutex baseline', naiveCartCost],
      ],
    };
    const cpuTable: ResultTable = {
      title: 'cross-check: CPU µs per reservation (process.cpuUsage, alternating blocks of 50 bursts)',
      columns: ['workload', 'Inventory µs', 'mutex baseline µs', 'Inventory ×'],
      rows: [
        ['one hot SKU', cpuOursHot as number, cpuNaiveHot as number, (cpuNaiveHot as number) / (cpuOursHot as number)],
        [
          '1,000 SKUs, 1-item carts',
          cpuOursSpread as number,
          cpuNaiveSpread as number,
          (cpuNaiveSpread as number) / (cpuOursSpread as number),
        ],
      ],
    };
    const noise: ResultTable = {
      title: 'batch-rate spread (max-min)/median, %',
      columns: ['case', 'spread %'],
      rows: measured.map((m) => [m.name, spreadOf(m.name)]),
    };
    return {
      tables: [rates, cost, cpuTable, noise],
      targets: [target('Inventory vs async-mutex baseline, hot SKU (x)', hotRatio, '>=', 3)],
      data: {
        burst: BURST,
        skus: SKUS,
        measured,
        cpuMicrosPerReservation: {
          hot: { inventory: cpuOursHot, baseline: cpuNaiveHot },
          spread: { inventory: cpuOursSpread, baseline: cpuNaiveSpread },
        },
      },
    };
  },
};
