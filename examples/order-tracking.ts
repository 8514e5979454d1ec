/**
 * Real-time order tracking (the guide's Q1: "shard data by region, use cache for recent lookups"). Each
 * region runs its own logistics service over status stores spread by a consistent-hash ring; a cache in
 * front absorbs the customers refreshing their tracking page, and every status update invalidates the
 * order's entry so nobody is shown an older status than the one written. When the Japanese logistics
 * service hangs, its circuit breaker opens and lookups degrade to the last known status (marked stale)
 * instead of failing; the breaker closes again once the service is back. Simulated time (ManualClock):
 * 16 s of traffic run in about a second.
 *
 * Run: `npx tsx examples/order-tracking.ts`
 */
import { ManualClock, seededRandom } from 'system-design-blocks';
import { Cache } from 'system-design-blocks/cache';
import {
  CircuitBreaker,
  type CircuitState,
  fallback,
  isCircuitOpenError,
  isTimeoutError,
} from 'system-design-blocks/resilience';
import { HashRing, ShardRouter } from 'system-design-blocks/sharding';
import { defineScenario } from './support/scenario.js';

type Region = 'kr' | 'jp' | 'tw';
const STATUSES = ['placed', 'packed', 'shipped', 'out for delivery', 'delivered'] as const;
type Status = (typeof STATUSES)[number];

/** An order's tracking status; `version` counts the updates written for it. */
interface TrackedStatus {
  readonly orderId: string;
  readonly status: Status;
  readonly version: number;
}

/** What the tracking API answers. */
interface TrackingAnswer {
  readonly status: TrackedStatus | undefined;
  /** True when the live service could not answer and this is the last known status. */
  readonly stale: boolean;
  /** Why the live answer was not used. */
  readonly degradedBy?: 'breaker open' | 'timeout' | 'error';
}

/** One status store (a NoSQL shard): statuses by order id, and the reads it served. */
class StatusShard {
  readonly statuses = new Map<string, TrackedStatus>();
  readonly readOrders: string[] = [];
  constructor(
    readonly id: string,
    readonly region: Region,
  ) {}
}

/** One region's logistics service: its shards on a ring, a breaker in front, and an outage to simulate. */
class RegionalLogistics {
  readonly #shards: ShardRouter<StatusShard, HashRing>;
  readonly #clock: ManualClock;
  readonly breaker: CircuitBreaker;

  constructor(
    readonly region: Region,
    ring: HashRing,
    clock: ManualClock,
    readonly outage?: { readonly from: number; readonly to: number },
  ) {
    this.#clock = clock;
    this.#shards = new ShardRouter({
      router: ring,
      shards: new Map(ring.nodes().map((id) => [id, new StatusShard(id, region)])),
    });
    this.breaker = new CircuitBreaker({
      name: `logistics-${region}`,
      timeout: BREAKER_TIMEOUT_MS,
      window: 1_000,
      minimumCalls: 10,
      failureThreshold: 50,
      resetAfter: 1_000,
      clock,
    });
  }

  down(at = this.#clock.now()): boolean {
    return this.outage !== undefined && at >= this.outage.from && at < this.outage.to;
  }

  shardOf(orderId: string): StatusShard {
    return this.#shards.get(orderId);
  }

  shards(): StatusShard[] {
    return [...this.#shards.shards().values()];
  }

  /** A logistics event: the warehouse writes the new status to the order's shard. */
  write(status: TrackedStatus): void {
    this.shardOf(status.orderId).statuses.set(status.orderId, status);
  }

  /** A status read: 25 ms, answered from the shard as it is then; hangs while the service is down. */
  async read(orderId: string, signal: AbortSignal): Promise<TrackedStatus> {
    const shard = this.shardOf(orderId);
    if (this.down()) await this.#clock.sleep(60_000, signal); // hangs until the breaker's timeout
    await this.#clock.sleep(25, signal);
    shard.readOrders.push(orderId);
    const status = shard.statuses.get(orderId);
    if (status === undefined) throw new Error(`no such order: ${orderId}`);
    return status;
  }
}

const BREAKER_TIMEOUT_MS = 200;
const JP_OUTAGE = { from: 5_000, to: 9_000 };
const TRAFFIC_MS = 15_000;
const TICK_MS = 20;
const LOOKUPS_PER_TICK = 20;
const ORDERS: Readonly<Record<Region, { readonly orders: number; readonly shards: number }>> = {
  kr: { orders: 300, shards: 3 },
  jp: { orders: 180, shards: 2 },
  tw: { orders: 120, shards: 2 },
};

interface LookupRecord {
  readonly orderId: string;
  readonly region: Region;
  readonly issuedAt: number;
  /** The status last written when the lookup was issued. */
  readonly writtenAtIssue: TrackedStatus;
  /** Highest version this API had answered live for the order when the lookup was issued. */
  readonly seenAtIssue: number;
  readonly downAtIssue: boolean;
  readonly breakerAtIssue: CircuitState;
  answeredAt?: number;
  answer?: TrackingAnswer;
}

export const scenario = defineScenario(import.meta.url, {
  name: 'order-tracking',
  title: 'Order tracking: sharded by region, cached, invalidated on update, last known status in an outage',
  guide: 'Q1: How would you design a real-time order tracking system? (shard by region, cache recent lookups)',
  blocks: ['sharding', 'cache', 'resilience'],
  async run({ log, check }) {
    const clock = new ManualClock();
    const seconds = (ms = clock.now()): string => `${(ms / 1000).toFixed(2)}s`;
    const random = seededRandom(11);

    // Shard by region first (each region's data stays in its region), then by order id within it.
    const regions = {} as Record<Region, RegionalLogistics>;
    const orderIds: string[] = [];
    const written = new Map<string, TrackedStatus>();
    for (const region of Object.keys(ORDERS) as Region[]) {
      const { orders, shards } = ORDERS[region];
      const ring = await HashRing.create({ nodes: Array.from({ length: shards }, (_, i) => `${region}-${i + 1}`) });
      const logistics = new RegionalLogistics(region, ring, clock, region === 'jp' ? JP_OUTAGE : undefined);
      regions[region] = logistics;
      for (let n = 0; n < orders; n++) {
        const status: TrackedStatus = { orderId: `${region}-order-${n}`, status: 'placed', version: 1 };
        orderIds.push(status.orderId);
        logistics.write(status);
        written.set(status.orderId, status);
      }
    }
    const regionOf = (orderId: string): RegionalLogistics => regions[orderId.slice(0, 2) as Region];

    // The cache for recent lookups. Updates invalidate it, so the TTL is only the safety net for an
    // invalidation that never arrives.
    const cache = new Cache<string, TrackedStatus>({ max: 5_000, ttl: 60_000, clock });
    // The last status answered live per order: what a lookup falls back to. Bounded like any cache.
    const lastKnown = new Cache<string, TrackedStatus>({ max: 50_000, clock });

    const timeline: string[] = [];
    const opened: { region: Region; at: number }[] = [];
    const closed: { region: Region; at: number }[] = [];
    for (const logistics of Object.values(regions)) {
      const { breaker, region } = logistics;
      breaker.onOpen((e) => {
        opened.push({ region, at: clock.now() });
        const why = e.window === undefined ? 'probe failed' : `${Math.round(e.window.failureRate)}% of calls failed`;
        timeline.push(`${seconds()}  ${breaker.name} open (${why})`);
      });
      breaker.onHalfOpen(() => timeline.push(`${seconds()}  ${breaker.name} half-open: next lookup probes`));
      breaker.onClose(() => {
        closed.push({ region, at: clock.now() });
        timeline.push(`${seconds()}  ${breaker.name} closed`);
      });
    }

    let liveReads = 0;
    const track = (orderId: string): Promise<TrackingAnswer> => {
      const logistics = regionOf(orderId);
      const lastKnownStatus = fallback(
        (error: unknown): TrackingAnswer => ({
          status: lastKnown.get(orderId),
          stale: true,
          degradedBy: isCircuitOpenError(error) ? 'breaker open' : isTimeoutError(error) ? 'timeout' : 'error',
        }),
      );
      return lastKnownStatus.execute(async () => {
        const status = await cache.getOrLoad(orderId, async (id, loadSignal) => {
          liveReads++;
          const live = await logistics.breaker.execute(({ signal: s }) => logistics.read(id, s), loadSignal);
          if ((lastKnown.peek(id)?.version ?? 0) < live.version) lastKnown.set(id, live);
          return live;
        });
        return { status, stale: false };
      });
    };

    // Logistics events: every order moves through its statuses at random times; each write invalidates.
    const updates = orderIds
      .flatMap((orderId) => {
        const moves = 1 + Math.floor(random() * (STATUSES.length - 1));
        const times = Array.from({ length: moves }, () => Math.floor(random() * TRAFFIC_MS)).sort((a, b) => a - b);
        return times.map((at, i) => ({ orderId, status: STATUSES[i + 1] as Status, at }));
      })
      .sort((a, b) => a.at - b.at);
    const applyUpdate = ({ orderId, status }: { orderId: string; status: Status }): void => {
      const previous = written.get(orderId) as TrackedStatus;
      const next: TrackedStatus = { orderId, status, version: previous.version + 1 };
      regionOf(orderId).write(next);
      written.set(orderId, next);
      cache.delete(orderId);
    };

    // Customers refresh their tracking pages: 1,000 lookups a second, some orders far more often than others.
    const lookups: LookupRecord[] = [];
    const seenLive = new Map<string, number>();
    let errors = 0;
    const ask = (orderId: string): void => {
      const logistics = regionOf(orderId);
      const record: LookupRecord = {
        orderId,
        region: logistics.region,
        issuedAt: clock.now(),
        writtenAtIssue: written.get(orderId) as TrackedStatus,
        seenAtIssue: seenLive.get(orderId) ?? 0,
        downAtIssue: logistics.down(),
        breakerAtIssue: logistics.breaker.state,
      };
      lookups.push(record);
      track(orderId).then(
        (answer) => {
          record.answer = answer;
          record.answeredAt = clock.now();
          const version = answer.status?.version ?? 0;
          if (!answer.stale && version > (seenLive.get(orderId) ?? 0)) seenLive.set(orderId, version);
        },
        () => errors++,
      );
    };

    let nextUpdate = 0;
    while (clock.now() < TRAFFIC_MS) {
      while (nextUpdate < updates.length && (updates[nextUpdate]?.at ?? 0) <= clock.now()) {
        applyUpdate(updates[nextUpdate] as (typeof updates)[number]);
        nextUpdate++;
      }
      for (let i = 0; i < LOOKUPS_PER_TICK; i++) {
        ask(orderIds[Math.floor(random() ** 2 * orderIds.length)] as string);
      }
      await clock.advanceAsync(TICK_MS);
    }
    await clock.advanceAsync(1_000);

    // The narrative.
    log(`${orderIds.length} orders in ${Object.keys(regions).length} regions, each region's orders on its own ring:`);
    for (const logistics of Object.values(regions)) {
      const spread = logistics.shards().map((s) => `${s.id} ${s.statuses.size}`);
      log(`  ${logistics.region}: ${spread.join(', ')} orders`);
    }
    const stats = cache.stats();
    const answered = lookups.filter((l) => l.answer !== undefined);
    log(
      `${seconds(TRAFFIC_MS)} of traffic: ${lookups.length} lookups, ${updates.length} status updates ` +
        `(each invalidating its cached entry)`,
    );
    log(
      `cache: hit ratio ${(stats.hitRatio * 100).toFixed(1)} % (${stats.hits} hits, ${stats.misses} misses); ` +
        `${liveReads} reads reached the logistics services`,
    );
    log(`jp logistics service hangs ${seconds(JP_OUTAGE.from)}–${seconds(JP_OUTAGE.to)}; breakers:`);
    for (const line of timeline) log(`  ${line}`);
    const degraded = answered.filter((l) => l.answer?.stale === true);
    const jpDuringOutage = answered.filter(
      (l) => l.region === 'jp' && l.issuedAt >= JP_OUTAGE.from && l.issuedAt < JP_OUTAGE.to,
    );
    const degradedInOutage = jpDuringOutage.filter((l) => l.answer?.stale === true);
    const degradedAfter = degraded.filter((l) => l.issuedAt >= JP_OUTAGE.to);
    const atOnce = degraded.filter((l) => l.answer?.degradedBy === 'breaker open' && l.answeredAt === l.issuedAt);
    const timedOut = degraded.filter((l) => l.answer?.degradedBy === 'timeout');
    const behind = degraded.map((l) => l.writtenAtIssue.version - (l.answer?.status?.version ?? 0));
    log(
      `jp lookups during the outage: ${jpDuringOutage.length}; ` +
        `${jpDuringOutage.length - degradedInOutage.length} answered from the cache (orders not updated since), ` +
        `${degradedInOutage.length} degraded to the last known status`,
    );
    log(
      `  ${degradedAfter.length} more degraded after the service was back, until the probe closed the breaker; ` +
        `of all ${degraded.length}: ${timedOut.length} after the ${BREAKER_TIMEOUT_MS} ms timeout, ` +
        `${atOnce.length} at once from the open breaker; at most ${Math.max(0, ...behind)} updates behind`,
    );
    const sample = degraded.find((l) => (l.answer?.status?.version ?? 0) < l.writtenAtIssue.version);
    if (sample?.answer?.status !== undefined) {
      log(
        `  e.g. ${sample.orderId} at ${seconds(sample.issuedAt)}: "${sample.answer.status.status}" (stale), ` +
          `while the store already said "${sample.writtenAtIssue.status}"`,
      );
    }

    // The invariants.
    check('every lookup got an answer, none an error', answered.length === lookups.length && errors === 0);
    const olderThanWritten = answered.filter(
      (l) => l.answer?.stale === false && (l.answer.status?.version ?? 0) < l.writtenAtIssue.version,
    );
    check(
      'no live answer was older than the last status written before the lookup',
      olderThanWritten.length === 0,
      `${olderThanWritten.length} of ${answered.length - degraded.length}`,
    );
    const excused = (l: LookupRecord): boolean =>
      l.region === 'jp' &&
      l.issuedAt >= JP_OUTAGE.from &&
      (l.downAtIssue || l.breakerAtIssue !== 'closed' || l.issuedAt < JP_OUTAGE.to + BREAKER_TIMEOUT_MS);
    check(
      'degraded answers only while the jp service was down or its breaker not yet closed',
      degraded.length > 0 && degraded.every(excused),
      `${degraded.length} degraded`,
    );
    check(
      'a degraded answer is the last known status: never unknown, never older than one already shown',
      degraded.every((l) => l.answer?.status !== undefined && l.answer.status.version >= l.seenAtIssue),
    );
    check(
      'the cache absorbed most reads (hit ratio ≥ 80 %)',
      stats.hitRatio >= 0.8,
      `${(stats.hitRatio * 100).toFixed(1)} %`,
    );
    const jpOpened = opened.filter((o) => o.region === 'jp');
    const jpClosed = closed.filter((c) => c.region === 'jp');
    check(
      'the jp breaker opened during the outage and closed after it; the other regions never opened',
      jpOpened.length > 0 &&
        jpOpened.every((o) => o.at >= JP_OUTAGE.from && o.at < JP_OUTAGE.to + BREAKER_TIMEOUT_MS) &&
        (jpClosed.at(-1)?.at ?? 0) >= JP_OUTAGE.to &&
        regions.jp.breaker.state === 'closed' &&
        opened.every((o) => o.region === 'jp'),
      `opened ${jpOpened.length}×, closed at ${seconds(jpClosed.at(-1)?.at ?? 0)}`,
    );
    check('while the breaker was open, degraded answers came at once', atOnce.length > 0);
    const misrouted = Object.values(regions).flatMap((r) =>
      r.shards().flatMap((s) => s.readOrders.filter((id) => regionOf(id) !== r || r.shardOf(id) !== s)),
    );
    check('every read went to the order’s own region and shard', misrouted.length === 0 && liveReads > 0);
  },
});
