/**
 * Package tracking keeps answering while the tracking service fails: lookups degrade to the last known
 * location (marked stale) when the service times out or the breaker is open, and a bulkhead sheds a spike
 * of lookups at once instead of letting them queue forever. Simulated time (ManualClock).
 */
import { ManualClock } from 'system-design-blocks';
import { bulkhead, CircuitBreaker, fallback, isBulkheadRejectedError, pipeline } from 'system-design-blocks/resilience';
import { defineScenario } from './support/scenario.js';

interface Location {
  readonly hub: string;
  readonly at: number;
}

interface TrackingAnswer {
  readonly packageId: string;
  readonly hub: string;
  /** True when answered from the last known location instead of the live service. */
  readonly stale: boolean;
  /** Why the live answer was not used. */
  readonly degradedBy?: string;
}

const HUBS = ['Incheon hub', 'Seoul sorting', 'Gangnam camp', 'out for delivery', 'delivered'];
const OUTAGE = { from: 2_000, to: 6_000 };
const SPIKE_AT = 8_000;

export const scenario = defineScenario(import.meta.url, {
  name: 'logistics-tracking-degradation',
  title: 'Logistics tracking: last-known location during an outage, load shedding in a spike',
  guide: 'Q4: How do you ensure fault tolerance in logistics tracking? (last-known location if updates fail)',
  blocks: ['resilience'],
  async run({ log, check }) {
    const clock = new ManualClock();
    const seconds = (ms = clock.now()): string => `${(ms / 1000).toFixed(2).padStart(5)}s`;

    // The tracking service: 40 ms per lookup; hangs during the outage; 250 ms per lookup in the spike.
    let running = 0;
    let maxRunning = 0;
    const trackingService = async (packageId: string, signal: AbortSignal): Promise<Location> => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        const now = clock.now();
        if (now >= OUTAGE.from && now < OUTAGE.to) await clock.sleep(60_000, signal); // hangs
        await clock.sleep(now >= SPIKE_AT ? 250 : 40, signal);
        const step = Math.min(HUBS.length - 1, Math.floor(clock.now() / 2_000) + (packageId.charCodeAt(4) % 2));
        return { hub: HUBS[step] as string, at: clock.now() };
      } finally {
        running--;
      }
    };

    const lastKnown = new Map<string, Location>();
    const breaker = new CircuitBreaker({
      name: 'tracking-service',
      timeout: 300,
      window: 2_000,
      minimumCalls: 4,
      failureThreshold: 50,
      resetAfter: 1_000,
      clock,
    });
    const lanes = bulkhead({ concurrency: 4, maxQueue: 8 });
    const timeline: string[] = [];
    breaker.onOpen((e) => timeline.push(`${seconds()}  breaker open (${e.reason})`));
    breaker.onHalfOpen(() => timeline.push(`${seconds()}  breaker half-open`));
    breaker.onClose(() => timeline.push(`${seconds()}  breaker closed`));
    const live = pipeline(lanes, breaker);

    const track = (packageId: string): Promise<TrackingAnswer> => {
      // The fallback is per lookup (it needs the package id); the bulkhead and breaker are shared.
      const degrade = fallback((error: unknown): TrackingAnswer => {
        const known = lastKnown.get(packageId);
        const degradedBy = isBulkheadRejectedError(error) ? 'shed' : ((error as { code?: string }).code ?? 'error');
        return { packageId, hub: known?.hub ?? 'unknown', stale: true, degradedBy };
      });
      return pipeline(degrade, live).execute(async ({ signal }) => {
        const location = await trackingService(packageId, signal);
        lastKnown.set(packageId, location);
        return { packageId, hub: location.hub, stale: false };
      });
    };

    const packages = ['PKG-1', 'PKG-2', 'PKG-3', 'PKG-4', 'PKG-5'];
    const answers: { at: number; answer: TrackingAnswer; answeredAt: number }[] = [];
    let asked = 0;
    let errors = 0;
    const ask = (id: string): void => {
      asked++;
      const at = clock.now();
      track(id).then(
        (answer) => answers.push({ at, answer, answeredAt: clock.now() }),
        () => errors++,
      );
    };

    // Steady lookups every 100 ms until just before the spike (the outage falls in between).
    while (clock.now() < SPIKE_AT - 500) {
      ask(packages[(clock.now() / 100) % packages.length] as string);
      await clock.advanceAsync(100);
    }
    await clock.advanceAsync(SPIKE_AT - clock.now());

    // The spike: 40 lookups at the same instant while the service has slowed to 250 ms per lookup.
    const spikeStart = clock.now();
    for (let i = 0; i < 40; i++) ask(packages[i % packages.length] as string);
    const queuedAtPeak = lanes.queued;
    await clock.advanceAsync(2_000);

    const inOutage = answers.filter((a) => a.at >= OUTAGE.from && a.at < OUTAGE.to);
    const spike = answers.filter((a) => a.at === spikeStart);
    const shed = spike.filter((a) => a.answer.degradedBy === 'shed');
    const servedLive = spike.filter((a) => !a.answer.stale);
    const fastDegraded = inOutage.filter((a) => a.answer.degradedBy === 'E_CIRCUIT_OPEN');

    log('timeline:');
    for (const line of timeline) log(line);
    log(
      `outage ${seconds(OUTAGE.from)}–${seconds(OUTAGE.to)}: ${inOutage.length} lookups, all answered; ` +
        `${inOutage.filter((a) => a.answer.degradedBy === 'E_TIMEOUT').length} after a 300 ms timeout, ` +
        `${fastDegraded.length} at once from the open breaker`,
    );
    const sample = inOutage.find((a) => a.answer.stale);
    if (sample !== undefined) log(`  e.g. ${sample.answer.packageId}: "${sample.answer.hub}" (last known, stale)`);
    log(
      `spike at ${seconds(spikeStart)}: 40 lookups → ${servedLive.length} live (4 running + ${queuedAtPeak} queued), ` +
        `${shed.length} shed at once and answered from the last known location`,
    );

    check('every lookup got an answer, none an error', answers.length === asked && errors === 0, `${asked} lookups`);
    check(
      'during the outage every lookup was answered, from the last known location',
      inOutage.length > 0 && inOutage.every((a) => a.answer.stale && a.answer.hub !== 'unknown'),
      `${inOutage.length} lookups`,
    );
    check(
      'while the breaker was open, degraded answers came at once (no waiting on the dead service)',
      fastDegraded.length > 0 && fastDegraded.every((a) => a.answeredAt === a.at),
    );
    check('the breaker closed again after the outage', timeline.at(-1)?.includes('closed') === true);
    check(
      'the bulkhead never ran more than 4 lookups nor queued more than 8',
      maxRunning <= 4 && queuedAtPeak <= 8,
      `max running ${maxRunning}, queued at peak ${queuedAtPeak}`,
    );
    check(
      'the spike was shed instead of queueing: 28 answered at once from cache, 12 served live',
      shed.length === 28 && shed.every((a) => a.answeredAt === spikeStart) && servedLive.length === 12,
    );
    check('shed lookups did not trip the breaker', breaker.state === 'closed');
  },
});
