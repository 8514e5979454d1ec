/**
 * Guide, Q2 "How do you scale a recommendation engine for millions of users?": an inference service with
 * caching for popular results. A slow model service sits behind a `Cache`: a flash-sale spike on a cold item
 * costs one model call, stale-while-revalidate keeps answers instant while a refresh runs, and when the
 * model service goes down `staleIfError` keeps the product pages up. Time is a `ManualClock`, so the whole
 * day runs in a moment.
 */
import { ManualClock, seededRandom } from 'system-design-blocks';
import { Cache } from 'system-design-blocks/cache';
import { defineScenario } from './support/scenario.js';

/** What the recommendation model returns for an item: "customers who viewed this also bought". */
interface Recommendations {
  readonly itemId: string;
  readonly items: readonly string[];
  readonly modelVersion: number;
}

const MODEL_LATENCY_MS = 180;
const TTL_MS = 60_000;
const SWR_MS = 30_000;
const SIE_MS = 10 * 60_000;

export const scenario = defineScenario(import.meta.url, {
  name: 'recommendations-cache',
  title: 'Recommendation inference behind a cache: one model call per flash sale, answers through an outage',
  guide: 'Q2 How do you scale a recommendation engine for millions of users? (inference service with caching)',
  blocks: ['cache'],
  async run({ log, check }) {
    const clock = new ManualClock();
    const random = seededRandom(42);

    // The model service: slow, counted, and able to fail.
    let modelCalls = 0;
    let modelVersion = 1;
    let modelDown = false;
    const infer = async (itemId: string, signal: AbortSignal): Promise<Recommendations> => {
      modelCalls++;
      await clock.sleep(MODEL_LATENCY_MS, signal);
      if (modelDown) throw new Error('inference service unavailable (GPU pool drained)');
      return { itemId, items: [`${itemId}-case`, `${itemId}-charger`, `${itemId}-warranty`], modelVersion };
    };

    const cache = new Cache<string, Recommendations>({
      max: 50_000,
      ttl: TTL_MS,
      ttlJitter: 0.1,
      staleWhileRevalidate: SWR_MS,
      staleIfError: SIE_MS,
      clock,
      random,
    });
    let refreshes = 0;
    cache.onRefresh(() => refreshes++);
    const recommend = (itemId: string): Promise<Recommendations> => cache.getOrLoad(itemId, infer);

    /** Fires `requests` concurrently; reports how many were answered before the clock moved (no model wait). */
    const burst = async (itemIds: readonly string[]): Promise<{ answers: Recommendations[]; instant: number }> => {
      let answered = 0;
      const pending = itemIds.map((id) =>
        recommend(id).then((r) => {
          answered++;
          return r;
        }),
      );
      await clock.advanceAsync(0); // lets every cached answer resolve; time does not move
      const instant = answered;
      await clock.advanceAsync(MODEL_LATENCY_MS); // model calls (if any) finish
      return { answers: await Promise.all(pending), instant };
    };

    // 1. Flash sale: 10,000 concurrent requests for one cold, suddenly popular item.
    log('1. Flash sale: 10,000 concurrent requests for the cold item "tv-oled-65"');
    const spike = await burst(Array.from({ length: 10_000 }, () => 'tv-oled-65'));
    log(`   model calls: ${modelCalls}, requests that waited for the model: ${10_000 - spike.instant}`);
    check('the 10,000-request spike cost exactly one model call', modelCalls === 1, `${modelCalls} call(s)`);
    check(
      'every request got the same recommendations',
      spike.answers.every((a) => a === spike.answers[0]),
    );

    // 2. A normal hour of browsing: skewed popularity over 500 items, bursts of 1,000 concurrent requests.
    log('2. Browsing: 40 bursts of 1,000 requests over 500 items (a few items are most of the traffic)');
    const catalogue = Array.from({ length: 500 }, (_, i) => `item-${i}`);
    const pick = (): string => catalogue[Math.floor(catalogue.length * random() ** 3)] as string;
    cache.resetStats();
    const callsBefore = modelCalls;
    for (let b = 0; b < 40; b++) {
      await burst(Array.from({ length: 1_000 }, pick));
      await clock.advanceAsync(1_000 - MODEL_LATENCY_MS);
    }
    const browsing = cache.stats();
    log(
      `   40,000 requests, hit ratio ${(browsing.hitRatio * 100).toFixed(1)} %, model calls ${modelCalls - callsBefore}, ` +
        `concurrent misses folded into one call: ${browsing.coalesced}`,
    );
    check(
      'popular results are served from the cache',
      browsing.hitRatio > 0.9,
      `${(browsing.hitRatio * 100).toFixed(1)} %`,
    );
    check(
      'at most one model call per item',
      modelCalls - callsBefore <= catalogue.length,
      `${modelCalls - callsBefore} calls for ${catalogue.length} items`,
    );

    // 3. The TTL passes while a new model ships: stale-while-revalidate answers at once and refreshes once.
    modelVersion = 2;
    const flashItem = cache.inspect('tv-oled-65');
    const untilStale = flashItem.state === 'fresh' ? flashItem.expiresInMs : 0;
    await clock.advanceAsync(untilStale + 5_000); // 5 s past its (jittered) TTL, inside the 30 s window
    log('3. Its TTL passed 5 s ago and model v2 shipped: 10,000 more requests for the flash-sale item');
    const refreshesBefore = refreshes;
    const swr = await burst(Array.from({ length: 10_000 }, () => 'tv-oled-65'));
    log(
      `   answered without waiting for the model: ${swr.instant.toLocaleString('en-US')}, background refreshes: ${refreshes - refreshesBefore}, ` +
        `now cached: model v${cache.peek('tv-oled-65')?.modelVersion}`,
    );
    check('stale-while-revalidate: all 10,000 answered before the model replied', swr.instant === 10_000);
    check('exactly one background refresh', refreshes - refreshesBefore === 1);
    check('the refresh stored the new model version', cache.peek('tv-oled-65')?.modelVersion === 2);

    // 4. The inference service goes down past the revalidation window: staleIfError keeps the pages up.
    modelDown = true;
    await clock.advanceAsync(TTL_MS * 1.1 + SWR_MS + 1);
    log('4. Inference service down for the next bursts (entries are past their revalidation window)');
    cache.resetStats();
    const outage = await burst(Array.from({ length: 5_000 }, pick));
    const during = cache.stats();
    log(
      `   5,000 requests: ${outage.answers.length.toLocaleString('en-US')} answered, ${during.staleServed.toLocaleString('en-US')} from stale entries, ` +
        `${during.loadErrors} failed model calls absorbed`,
    );
    check(
      'every request was answered during the outage',
      outage.answers.every((a) => a.items.length === 3),
    );
    check('the answers came from stale entries', during.staleServed === 5_000, `${during.staleServed} stale answers`);

    const total = cache.stats();
    log(`Model calls in total: ${modelCalls}; cache holds ${total.size} items.`);
  },
});
