/**
 * Real-time order tracking (the guide's Q1: "shard data by region"): orders are placed in their region,
 * then spread over that region's order stores with a consistent-hash ring. Each order is written to two
 * stores (`getN(orderId, 2)`), so tracking keeps answering when a store is down; adding a store moves only
 * about 1/(n+1) of the orders, all of them to the new store.
 *
 * Run: `npx tsx examples/order-tracking-sharding.ts`
 */
import { compareRouting, HashRing, ShardRouter } from 'system-design-blocks/sharding';
import { defineScenario } from './support/scenario.js';

type Status = 'placed' | 'packed' | 'shipped' | 'delivered';
const STATUSES: readonly Status[] = ['placed', 'packed', 'shipped', 'delivered'];

/** One order store (a database shard): tracking status by order id, and whether it is reachable. */
class OrderStore {
  readonly statuses = new Map<string, Status>();
  up = true;
  constructor(readonly id: string) {}
}

/** Order tracking for one region: its stores behind a ring, two copies of every order. */
class RegionTracking {
  readonly #router: ShardRouter<OrderStore, HashRing>;

  constructor(readonly ring: HashRing) {
    this.#router = new ShardRouter({
      router: ring,
      shards: new Map(ring.nodes().map((id) => [id, new OrderStore(id)])),
    });
  }

  /** Writes an order's status to its primary store and its replica. */
  update(orderId: string, status: Status): void {
    for (const store of this.#router.getN(orderId, 2)) store.statuses.set(orderId, status);
  }

  /** Reads an order's status from the first reachable of its stores: the primary, else the replica. */
  track(orderId: string): Status | undefined {
    const store = this.#router.getN(orderId, 2).find((s) => s.up);
    return store?.statuses.get(orderId);
  }

  store(id: string): OrderStore {
    return this.#router.shard(id);
  }

  /**
   * Adds a store: registers it, puts it on the ring, and moves the copies of the orders whose pair of
   * stores changed (copy to the new owners, drop from the stores that no longer own them).
   */
  addStore(id: string, orderIds: readonly string[]): void {
    const before = this.ring.clone();
    this.#router.setShard(id, new OrderStore(id));
    this.ring.add(id);
    for (const orderId of orderIds) {
      const previous = before.getN(orderId, 2);
      const owners = this.ring.getN(orderId, 2);
      if (owners.every((o) => previous.includes(o))) continue;
      const status = this.store(previous[0] as string).statuses.get(orderId);
      if (status === undefined) continue;
      for (const owner of owners) this.store(owner).statuses.set(orderId, status);
      for (const old of previous) if (!owners.includes(old)) this.store(old).statuses.delete(orderId);
    }
  }
}

export const scenario = defineScenario(import.meta.url, {
  name: 'order-tracking-sharding',
  title: 'Real-time order tracking: orders sharded by region, replicas for failover, a store added',
  guide: 'Q1 — real-time order tracking system ("shard data by region")',
  blocks: ['sharding'],
  async run({ log, check }) {
    // Shard by region first (data stays near its customers), then by order id within the region.
    const regions = new Map<string, RegionTracking>([
      ['kr', new RegionTracking(await HashRing.create({ nodes: ['kr-1', 'kr-2', 'kr-3', 'kr-4', 'kr-5'] }))],
      ['jp', new RegionTracking(await HashRing.create({ nodes: ['jp-1', 'jp-2', 'jp-3'] }))],
    ]);
    const orders = new Map<string, string[]>([
      ['kr', []],
      ['jp', []],
    ]);
    const latest = new Map<string, Status>();
    // 30,000 orders (two in three in Korea), each moving through its statuses as logistics events arrive.
    for (let i = 0; i < 30_000; i++) {
      const region = i % 3 === 2 ? 'jp' : 'kr';
      const orderId = `${region}-order-${i}`;
      (orders.get(region) as string[]).push(orderId);
      const tracking = regions.get(region) as RegionTracking;
      for (const status of STATUSES.slice(0, 1 + (i % STATUSES.length))) {
        tracking.update(orderId, status);
        latest.set(orderId, status);
      }
    }
    const kr = regions.get('kr') as RegionTracking;
    const krOrders = orders.get('kr') as string[];

    log(`${krOrders.length} Korean orders over ${kr.ring.size} stores (160 virtual nodes each), 2 copies each:`);
    const primaries = kr.ring.nodes().map((id) => krOrders.filter((o) => kr.ring.get(o) === id).length);
    const mean = krOrders.length / kr.ring.size;
    log(`  primary orders per store: ${primaries.join(', ')} (max/mean ${(Math.max(...primaries) / mean).toFixed(2)})`);
    check('every store holds a fair share (max/mean < 1.3)', Math.max(...primaries) / mean < 1.3);

    // A store goes down: tracking reads fall through to the replica.
    kr.store('kr-3').up = false;
    const affected = krOrders.filter((o) => kr.ring.get(o) === 'kr-3');
    const answered = affected.filter((o) => kr.track(o) === latest.get(o)).length;
    log(`kr-3 is down: ${affected.length} orders had it as primary; ${answered} answered from their replica`);
    check('no order is lost while a store is down', answered === affected.length);
    kr.store('kr-3').up = true;

    // Black Friday: add a sixth Korean store. How many orders move?
    const before = kr.ring.clone();
    kr.addStore('kr-6', krOrders);
    const diff = compareRouting(before, kr.ring, krOrders);
    const n = before.size;
    const ideal = 1 / (n + 1);
    log(
      `added kr-6: ${diff.moved} of ${diff.total} orders change primary store (${(diff.fraction * 100).toFixed(1)} %), ` +
        `ideal 1/(n+1) = ${(ideal * 100).toFixed(1)} %`,
    );
    for (const flow of diff.flows) log(`  ${flow.from} → ${flow.to}: ${flow.count}`);
    check(
      'only orders moving to the new store move',
      diff.flows.every((f) => f.to === 'kr-6'),
    );
    check('the fraction moved stays near 1/(n+1) (≤ 1.3×)', diff.fraction <= 1.3 * ideal);
    const stale = [...latest].filter(([orderId, status]) => {
      const tracking = regions.get(orderId.slice(0, 2)) as RegionTracking;
      return tracking.track(orderId) !== status;
    }).length;
    check('every order still tracks its latest status after the move', stale === 0, `${latest.size} orders`);
    const copies = kr.ring.nodes().reduce((sum, id) => sum + kr.store(id).statuses.size, 0);
    check('still exactly two copies of each Korean order', copies === 2 * krOrders.length);
  },
});
