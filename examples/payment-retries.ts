/**
 * Guide Q3, secure high-availability payments: a flaky gateway that sometimes charges and then times out, a
 * client that retries with the same idempotency key, 20 concurrent duplicate submissions, a payload changed
 * under the same key, a declined card, a worker that gave up after the gateway charged, and what is kept at
 * rest. Time is simulated, so the run takes well under a second.
 */
import { flushMicrotasks, ManualClock } from 'system-design-blocks';
import {
  createPaymentProcessor,
  isIdempotencyInProgressError,
  isIdempotencyKeyReusedError,
  isPaymentDeclinedError,
  isPaymentGatewayTimeoutError,
  isPaymentGatewayUnavailableError,
  isReplayedError,
  MemoryIdempotencyStore,
  type PaymentChargeRequest,
  type PaymentGateway,
  SimulatedGateway,
} from 'system-design-blocks/idempotency';
import { defineScenario } from './support/scenario.js';

/** Runs simulated time until `promise` settles. */
async function run<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  watched.catch(() => {}); // observed below; keeps the rejection from being reported as unhandled meanwhile
  while (!done) {
    await flushMicrotasks();
    if (!done && clock.pending > 0) await clock.runNext();
  }
  return watched;
}

/** A seeded random source, so every run prints the same numbers. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a * 1_103_515_245 + 12_345) % 2_147_483_648;
    return a / 2_147_483_648;
  };
}

const PAN = '4242 4242 4242 4242';

export const scenario = defineScenario(import.meta.url, {
  name: 'payment-retries',
  title: 'Exactly-once payments over a flaky gateway: retries, duplicates and redaction',
  guide:
    'Q3: secure, high-availability payments (payment gateway integration with retries, millions of payments daily)',
  blocks: ['idempotency'],
  async run({ log, check }) {
    const clock = new ManualClock();
    const store = new MemoryIdempotencyStore({ clock });
    const gateway = new SimulatedGateway({ clock, latency: 40, timeoutRate: 0.3, random: seeded(7) });
    const payments = createPaymentProcessor({
      gateway,
      store,
      clock,
      gatewayAttempts: 1, // let the client see each timeout and retry it itself
    });
    // Tokenised in the browser by the gateway's library: the card number never reaches our servers.
    const paymentMethod = gateway.createPaymentMethod({ number: PAN, expMonth: 12, expYear: 2030 });
    const order = (n: number, extra: Partial<PaymentChargeRequest> = {}): PaymentChargeRequest => ({
      idempotencyKey: `checkout-${n}`,
      customerId: `customer-${n % 7}`,
      amount: 1_000 + n,
      currency: 'USD',
      paymentMethod,
      reference: `order-${n}`,
      ...extra,
    });

    // 1. A client that retries timeouts with the same key.
    log('1) 50 checkouts through a gateway that loses 30 % of its responses (after charging):');
    let sent = 0;
    let timeouts = 0;
    for (let n = 1; n <= 50; n++) {
      for (let attempt = 1; ; attempt++) {
        sent++;
        try {
          await run(clock, payments.charge(order(n)));
          break;
        } catch (error: unknown) {
          if (!isPaymentGatewayTimeoutError(error) && !isPaymentGatewayUnavailableError(error)) throw error;
          timeouts++;
          await run(clock, clock.sleep(200 * attempt)); // back off, then retry with the same key
        }
      }
    }
    log(`   requests sent: ${sent}, timeouts seen by clients: ${timeouts}, charges made: ${gateway.chargeCount}`);
    check('one charge per checkout whatever the retries', gateway.chargeCount === 50, `${gateway.chargeCount} charges`);

    // 2. 20 concurrent duplicate submissions of one checkout (double clicks, a retry storm).
    log('2) 20 concurrent submissions of checkout-100:');
    const before = gateway.chargeCount;
    const storm = await run(clock, Promise.allSettled(Array.from({ length: 20 }, () => payments.charge(order(100)))));
    const executed = storm.filter((r) => r.status === 'fulfilled' && !r.value.replayed);
    const busy = storm.filter((r) => r.status === 'rejected' && isIdempotencyInProgressError(r.reason));
    const timedOut = storm.filter((r) => r.status === 'rejected' && isPaymentGatewayTimeoutError(r.reason));
    log(
      `   first round: ${executed.length} ran, ${busy.length} got 409 (in progress), ${timedOut.length} saw the timeout`,
    );
    const retries = await run(clock, Promise.all(Array.from({ length: 20 }, () => payments.charge(order(100)))));
    const chargeIds = new Set(retries.map((r) => r.value.chargeId));
    log(`   retries: ${retries.filter((r) => r.replayed).length} replays, all of ${[...chargeIds].join(', ')}`);
    check('20 duplicates: one charge, one receipt', gateway.chargeCount === before + 1 && chargeIds.size === 1);

    // 3. The same key with a different payload.
    log('3) checkout-100 again, but for 99.00 instead of 11.00:');
    const changed = await run(clock, payments.charge(order(100, { amount: 9_900 }))).catch((e: unknown) => e);
    const reused = isIdempotencyKeyReusedError(changed);
    log(
      `   → ${reused ? `${changed.httpStatus} ${changed.code}` : 'accepted?!'}; charges still ${gateway.chargeCount}`,
    );
    check(
      'a changed payload under the same key is refused (422), nothing charged',
      reused && gateway.chargeCount === before + 1,
    );

    // 4. A declined card: a final answer, saved and replayed.
    log('4) a card that is declined, submitted twice:');
    const declining = gateway.createPaymentMethod({ number: '4000 0000 0000 0002', expMonth: 1, expYear: 2031 });
    const d1 = await run(clock, payments.charge(order(200, { paymentMethod: declining }))).catch((e: unknown) => e);
    const d2 = await run(clock, payments.charge(order(200, { paymentMethod: declining }))).catch((e: unknown) => e);
    const both = isPaymentDeclinedError(d1) && isPaymentDeclinedError(d2);
    log(
      `   → ${both ? `${d2.httpStatus} ${d2.declineCode}, second answer replayed: ${isReplayedError(d2)}` : 'not declined?!'}`,
    );
    check('a decline is saved and replayed without asking the gateway again', both && isReplayedError(d2));

    // 5. A worker gives up after the gateway charged (its response never arrived); the sweep finishes it.
    log('5) a worker loses the gateway response and gives up; the recovery sweep runs:');
    let dropped = false;
    const lossy: PaymentGateway = {
      async charge(request, options) {
        const result = await gateway.charge(request, options);
        if (!dropped) {
          dropped = true;
          throw new Error('connection reset after the gateway answered');
        }
        return result;
      },
      refund: (request, options) => gateway.refund(request, options),
    };
    const worker = createPaymentProcessor({ gateway: lossy, store, clock, gatewayAttempts: 1 });
    const chargesBefore = gateway.chargeCount;
    await run(clock, worker.charge(order(300))).catch(() => undefined);
    const pending = await store.listUnfinished();
    const report = await run(clock, payments.complete());
    const after = await run(clock, payments.charge(order(300)));
    log(
      `   unfinished before the sweep: ${pending.length}; sweep finished ${report.finished}, charges made: ${gateway.chargeCount - chargesBefore}`,
    );
    check(
      'the sweep found the lost charge instead of charging again',
      gateway.chargeCount - chargesBefore === 1 && after.replayed,
    );

    // 6. What is kept at rest.
    log('6) a customer typed their card number into the order note; the stored record:');
    const noted = order(400, { metadata: { note: `please charge ${PAN}` } });
    const first = await run(clock, payments.charge(noted));
    const replay = await run(clock, payments.charge(noted));
    const record = await payments.inspect(noted.customerId, noted.idempotencyKey);
    log(`   ${JSON.stringify(record)}`);
    log(
      `   first caller's note: "${first.value.metadata?.note}", a duplicate's note: "${replay.value.metadata?.note}"`,
    );
    const atRest = JSON.stringify(await store.listUnfinished()) + JSON.stringify(record);
    check(
      'no card number at rest (request kept only as a SHA-256 fingerprint)',
      !/4242 ?4242 ?4242 ?4242/.test(atRest),
    );
    log(
      `   totals: ${gateway.requestCount} gateway requests, ${gateway.chargeCount} charges, ${gateway.replayCount} found by idempotency key`,
    );
  },
});
