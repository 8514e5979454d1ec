/**
 * Notification system for order updates (the guide's notification scenario, "delivery guarantees: ensuring
 * messages are not lost"). Every order update fans out to push, email and SMS. Each provider sits behind its
 * own bulkhead and token-bucket rate limit, failed sends are retried with jittered backoff, an idempotency
 * key per notification turns the queue's at-least-once delivery into one send, and what still fails lands
 * on a dead-letter list that is redriven once the provider is back. Faults: transient provider errors, the
 * SMS provider down for four seconds, duplicate submissions (at once and seconds later). Simulated time
 * (ManualClock): 25 s of traffic run in about a second.
 *
 * Run: `npx tsx examples/notifications.ts`
 */
import { ManualClock, seededRandom } from 'system-design-blocks';
import {
  type IdempotentFunction,
  idempotent,
  isIdempotencyInProgressError,
  MemoryIdempotencyStore,
} from 'system-design-blocks/idempotency';
import {
  type Bulkhead,
  bulkhead,
  isBulkheadRejectedError,
  isRetryExhaustedError,
  type Pipeline,
  type PolicyFn,
  pipeline,
  RateLimiter,
  type ResiliencePolicy,
  retry,
} from 'system-design-blocks/resilience';
import { defineScenario } from './support/scenario.js';

type Channel = 'push' | 'email' | 'sms';
const CHANNELS: readonly Channel[] = ['push', 'email', 'sms'];
const EVENTS = ['confirmed', 'shipped', 'out for delivery', 'delivered'] as const;

/** One message to one customer on one channel: what the queue carries. */
interface Notification {
  /** Identifies the message itself: order, event and channel. */
  readonly id: string;
  /** The deduplication key: the id, or a fresh one when an operator redrives a dead letter. */
  readonly idempotencyKey: string;
  readonly customerId: string;
  readonly orderId: string;
  readonly channel: Channel;
  readonly text: string;
}

/** The saved outcome of a notification: replayed to every duplicate. */
type Delivery =
  | { readonly status: 'sent'; readonly providerMessageId: string }
  | { readonly status: 'dead-lettered'; readonly attempts: number };

interface DeadLetter {
  readonly notification: Notification;
  readonly attempts: number;
  readonly lastError: string;
  readonly at: number;
}

/** A provider's answer when it cannot take the message; nothing was sent. */
class ProviderError extends Error {
  constructor(
    readonly provider: Channel,
    readonly status: number,
    message: string,
  ) {
    super(`${provider} ${status}: ${message}`);
    this.name = 'ProviderError';
  }
}

/**
 * A push / email / SMS provider: takes `latencyMs` per message, refuses some with a transient 503 and
 * refuses everything while down. A refusal sends nothing (the provider answers before accepting), so a
 * retry cannot deliver twice; a provider that may lose its acknowledgement after sending needs its own
 * deduplication key, as the payment gateway in `payment-retries` has. It counts what it delivered per
 * notification id: the ground truth the checks read.
 */
class SimulatedProvider {
  readonly delivered = new Map<string, number>();
  readonly attempts = new Map<string, number>();
  readonly callTimes: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  transientErrors = 0;
  outageErrors = 0;
  readonly #clock: ManualClock;
  readonly #random: () => number;

  constructor(
    readonly channel: Channel,
    clock: ManualClock,
    readonly latencyMs: number,
    readonly transientRate: number,
    random: () => number,
    readonly outage?: { readonly from: number; readonly to: number },
  ) {
    this.#clock = clock;
    this.#random = random;
  }

  down(at = this.#clock.now()): boolean {
    return this.outage !== undefined && at >= this.outage.from && at < this.outage.to;
  }

  async send(notification: Notification, signal: AbortSignal): Promise<string> {
    this.callTimes.push(this.#clock.now());
    this.attempts.set(notification.id, (this.attempts.get(notification.id) ?? 0) + 1);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      if (this.down()) {
        await this.#clock.sleep(30, signal);
        this.outageErrors++;
        throw new ProviderError(this.channel, 503, 'service unavailable');
      }
      await this.#clock.sleep(this.latencyMs, signal);
      if (this.#random() < this.transientRate) {
        this.transientErrors++;
        throw new ProviderError(this.channel, 503, 'try again');
      }
      const count = (this.delivered.get(notification.id) ?? 0) + 1;
      this.delivered.set(notification.id, count);
      return `${this.channel}-msg-${this.callTimes.length}`;
    } finally {
      this.inFlight--;
    }
  }
}

/** One channel: its provider, and the bulkhead, rate limit and retries in front of it. */
interface ChannelLane {
  readonly provider: SimulatedProvider;
  readonly slots: Bulkhead;
  readonly limiter: RateLimiter;
  readonly policy: Pipeline<never>;
  readonly holding: Gauge;
  retries: number;
}

/**
 * A policy of our own, between the bulkhead and the retries: counts the notifications the lane holds
 * (sending, or waiting to retry), so the run can show the bulkhead's bound from the outside.
 */
class Gauge implements ResiliencePolicy {
  current = 0;
  max = 0;

  async execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    this.max = Math.max(this.max, ++this.current);
    try {
      // A context needs a signal; without the caller's, give this call one of its own.
      return await fn({ signal: signal ?? new AbortController().signal, attempt: 1 });
    } finally {
      this.current--;
    }
  }
}

const SMS_OUTAGE = { from: 4_000, to: 8_000 };
const UPDATES = 150;
const PUBLISH_EVERY_MS = 80;
const REDELIVERY_DELAY_MS = 1_000;
const REDRIVE_AT = 20_000;

export const scenario = defineScenario(import.meta.url, {
  name: 'notifications',
  title: 'Order-update notifications over push, email and SMS: retried, deduplicated, dead-lettered, none lost',
  guide: 'Notification system for order updates ("delivery guarantees: ensuring messages are not lost")',
  blocks: ['resilience', 'idempotency'],
  async run({ log, check }) {
    const clock = new ManualClock();
    const seconds = (ms = clock.now()): string => `${(ms / 1000).toFixed(1)}s`;
    const random = seededRandom(2024);

    // Per-channel settings: the SMS gateway is the slowest, the most expensive and the one that goes down.
    const settings = {
      push: { latencyMs: 20, transientRate: 0.05, concurrency: 8, maxQueue: 16, burst: 10, perSecond: 40 },
      email: { latencyMs: 60, transientRate: 0.1, concurrency: 4, maxQueue: 16, burst: 10, perSecond: 25 },
      sms: { latencyMs: 120, transientRate: 0.05, concurrency: 4, maxQueue: 8, burst: 5, perSecond: 15 },
    } as const;
    const channels = {} as Record<Channel, ChannelLane>;
    for (const channel of CHANNELS) {
      const s = settings[channel];
      const provider = new SimulatedProvider(
        channel,
        clock,
        s.latencyMs,
        s.transientRate,
        random,
        channel === 'sms' ? SMS_OUTAGE : undefined,
      );
      const slots = bulkhead({ concurrency: s.concurrency, maxQueue: s.maxQueue });
      const limiter = new RateLimiter({ capacity: s.burst, refillPerSecond: s.perSecond, clock });
      const retries = retry({ maxAttempts: 4, backoff: { initial: 200, max: 1_600, random }, clock });
      // The bulkhead outside the retries: one notification holds one slot for all its attempts.
      const holding = new Gauge();
      const lane: ChannelLane = {
        provider,
        slots,
        limiter,
        holding,
        policy: pipeline(slots, holding, retries),
        retries: 0,
      };
      retries.onRetry(() => lane.retries++);
      channels[channel] = lane;
    }

    // The dead-letter list: a notification whose every attempt failed waits there for an operator.
    const deadLetters: DeadLetter[] = [];

    // One send per idempotency key. A dead letter is a saved outcome too, so a late duplicate of a
    // dead-lettered notification does not slip past the list and send on its own.
    const store = new MemoryIdempotencyStore({ clock });
    const send: IdempotentFunction<Notification, Delivery> = idempotent(
      async (notification: Notification): Promise<Delivery> => {
        const lane = channels[notification.channel];
        try {
          const providerMessageId = await lane.policy.execute(async ({ signal }) => {
            await lane.limiter.take(1, signal); // wait for the provider's rate, every attempt
            return lane.provider.send(notification, signal);
          });
          return { status: 'sent', providerMessageId };
        } catch (error: unknown) {
          if (!isRetryExhaustedError(error)) throw error; // shed by the bulkhead: the key is released
          const last = error.errors.at(-1);
          deadLetters.push({
            notification,
            attempts: error.errors.length,
            lastError: last instanceof Error ? last.message : String(last),
            at: clock.now(),
          });
          return { status: 'dead-lettered', attempts: error.errors.length };
        }
      },
      {
        store,
        key: (n) => n.idempotencyKey,
        scope: (n) => n.customerId,
        clock,
      },
    );

    // The queue consumer: acknowledges what was sent, dead-lettered or found to be a duplicate; a message
    // the bulkhead shed is not acknowledged, so the queue delivers it again a second later.
    const counts = { submitted: 0, sent: 0, deduplicated: 0, inProgress: 0, deadLettered: 0, shed: 0 };
    const unexpected: unknown[] = [];
    const consume = async (notification: Notification): Promise<void> => {
      try {
        const result = await send(notification);
        if (result.replayed) counts.deduplicated++;
        else if (result.value.status === 'sent') counts.sent++;
        else counts.deadLettered++;
      } catch (error: unknown) {
        if (isIdempotencyInProgressError(error)) {
          counts.deduplicated++; // the first copy is running; it acknowledges or comes back itself
          counts.inProgress++;
        } else if (isBulkheadRejectedError(error)) {
          counts.shed++;
          void clock.sleep(REDELIVERY_DELAY_MS).then(() => consume(notification));
        } else {
          unexpected.push(error);
        }
      }
    };

    // The order service publishes 150 updates, one every 80 ms, each fanned out to the three channels. Its
    // outbox relay delivers at least once: every 7th update is published twice at once, every 11th again
    // three seconds later.
    const unique = new Set<string>();
    const publish = (update: number): void => {
      const orderId = `order-${1000 + Math.floor(update / EVENTS.length)}`;
      const event = EVENTS[update % EVENTS.length] as (typeof EVENTS)[number];
      for (const channel of CHANNELS) {
        const id = `${orderId}:${event}:${channel}`;
        unique.add(id);
        counts.submitted++;
        void consume({
          id,
          idempotencyKey: id,
          customerId: `customer-${Math.floor(update / EVENTS.length) % 37}`,
          orderId,
          channel,
          text: `Your order ${orderId} is ${event}.`,
        });
      }
    };
    let duplicatesSubmitted = 0;
    for (let update = 0; update < UPDATES; update++) {
      const at = update * PUBLISH_EVERY_MS;
      void clock.sleep(at).then(() => {
        publish(update);
        if (update % 7 === 3) {
          publish(update);
          duplicatesSubmitted += CHANNELS.length;
        }
      });
      if (update % 11 === 5) {
        duplicatesSubmitted += CHANNELS.length;
        void clock.sleep(at + 3_000).then(() => publish(update));
      }
    }

    await clock.advanceAsync(REDRIVE_AT);

    const totalDelivered = (id: string): number =>
      CHANNELS.reduce((sum, c) => sum + (channels[c].provider.delivered.get(id) ?? 0), 0);
    const dlqCount = (id: string): number => deadLetters.filter((d) => d.notification.id === id).length;
    const retries = CHANNELS.reduce((sum, c) => sum + channels[c].retries, 0);
    const recoveredByRetry = [...unique].filter((id) => {
      const channel = id.slice(id.lastIndexOf(':') + 1) as Channel;
      return totalDelivered(id) === 1 && (channels[channel].provider.attempts.get(id) ?? 0) > 1;
    }).length;

    log(
      `${UPDATES} order updates → ${unique.size} notifications (push, email, SMS); ` +
        `${counts.submitted} submissions, ${duplicatesSubmitted} of them duplicates`,
    );
    log(`SMS provider down ${seconds(SMS_OUTAGE.from)}–${seconds(SMS_OUTAGE.to)}; by ${seconds()}:`);
    log(
      `  sent ${counts.sent}, deduplicated ${counts.deduplicated}, retried ${retries} times ` +
        `(${recoveredByRetry} notifications delivered after a retry), dead-lettered ${counts.deadLettered}`,
    );
    log(
      `  deduplicated: ${counts.inProgress} while the first copy was still sending (409), ` +
        `${counts.deduplicated - counts.inProgress} replayed from the saved outcome`,
    );
    log(`  shed by a full bulkhead and redelivered by the queue: ${counts.shed} times`);
    for (const channel of CHANNELS) {
      const { provider } = channels[channel];
      const dead = deadLetters.filter((d) => d.notification.channel === channel).length;
      log(
        `  ${channel.padEnd(5)} ${provider.callTimes.length} calls, ${provider.transientErrors} transient errors, ` +
          `${provider.outageErrors} refused while down, ${provider.maxInFlight} in flight at most, ` +
          `${dead} dead-lettered`,
      );
    }

    check('no unexpected error reached the consumer', unexpected.length === 0, String(unexpected[0] ?? ''));
    check(
      'the faults happened: transient errors, an SMS outage, duplicate submissions',
      CHANNELS.every((c) => channels[c].provider.transientErrors > 0) &&
        channels.sms.provider.outageErrors > 0 &&
        duplicatesSubmitted > 0,
    );
    const exactlyOnceOrDead = [...unique].filter((id) => {
      const delivered = totalDelivered(id);
      const dead = dlqCount(id);
      return (delivered === 1 && dead === 0) || (delivered === 0 && dead === 1);
    }).length;
    check(
      'every notification was delivered exactly once or dead-lettered (counted at the providers)',
      exactlyOnceOrDead === unique.size,
      `${exactlyOnceOrDead}/${unique.size}`,
    );
    check(
      'one outcome per notification; every duplicate submission was deduplicated',
      counts.sent + counts.deadLettered === unique.size && counts.deduplicated === duplicatesSubmitted,
      `${counts.sent} sent + ${counts.deadLettered} dead-lettered, ${counts.deduplicated} deduplicated`,
    );
    check(
      'transient errors were absorbed by retries, and only the SMS outage dead-lettered anything',
      recoveredByRetry > 0 &&
        deadLetters.every((d) => d.notification.channel === 'sms' && d.lastError.includes('service unavailable')),
    );
    check(
      'each bulkhead held at most its slots, even with SMS down (the rest queued or went back to the queue)',
      CHANNELS.every((c) => channels[c].holding.max <= channels[c].slots.concurrency) &&
        CHANNELS.every((c) => channels[c].provider.maxInFlight <= channels[c].slots.concurrency),
      CHANNELS.map((c) => `${c} ${channels[c].holding.max}/${channels[c].slots.concurrency}`).join(', '),
    );
    // A token bucket lets at most capacity + rate × window calls through in any window.
    const worstWindow = (c: Channel): number => {
      const times = channels[c].provider.callTimes;
      let worst = 0;
      for (let i = 0, j = 0; i < times.length; i++) {
        while ((times[i] as number) - (times[j] as number) >= 1_000) j++;
        worst = Math.max(worst, i - j + 1);
      }
      return worst;
    };
    check(
      'no provider was called faster than its rate limit (burst + rate per second, in any 1 s window)',
      CHANNELS.every((c) => worstWindow(c) <= settings[c].burst + settings[c].perSecond),
      CHANNELS.map((c) => `${c} ${worstWindow(c)}/${settings[c].burst + settings[c].perSecond}`).join(', '),
    );

    // The SMS provider is back: an operator redrives the dead-letter list. A redrive is a new attempt at the
    // same message, so it gets a new idempotency key (the old key's saved outcome is "dead-lettered").
    const redriven = deadLetters.splice(0);
    const sentBefore = counts.sent;
    for (const { notification } of redriven) {
      void consume({ ...notification, idempotencyKey: `${notification.id}#redrive-1` });
    }
    // Late duplicates of redriven notifications still replay their saved "dead-lettered" outcome.
    for (const { notification } of redriven.slice(0, 5)) void consume(notification);
    await clock.advanceAsync(5_000);
    log(
      `redrive at ${seconds(REDRIVE_AT)}: ${redriven.length} dead letters → ${counts.sent - sentBefore} sent, ` +
        `${deadLetters.length} left on the list`,
    );
    check(
      'after the redrive every notification was delivered exactly once; none lost',
      redriven.length > 0 && deadLetters.length === 0 && [...unique].every((id) => totalDelivered(id) === 1),
      `${[...unique].filter((id) => totalDelivered(id) === 1).length}/${unique.size}`,
    );
  },
});
