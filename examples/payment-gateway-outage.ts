/**
 * A payment gateway goes down in the middle of traffic. Retries with jittered backoff absorb the first
 * errors, the circuit breaker opens and fails fast, the fallback parks payments as "pending" instead of
 * failing checkout, the half-open probe finds the gateway back and traffic resumes; the parked payments
 * are then settled. Simulated time (ManualClock): 20 s of traffic run in well under a second.
 */
import { ManualClock, seededRandom } from 'system-design-blocks';
import { CircuitBreaker, fallback, pipeline, retry, timeout } from 'system-design-blocks/resilience';
import { defineScenario } from './support/scenario.js';

interface Payment {
  readonly id: string;
  readonly amount: number;
}

type PaymentResult =
  | { readonly id: string; readonly status: 'charged' }
  | { readonly id: string; readonly status: 'pending' };

const OUTAGE_START = 3_000;
const OUTAGE_END = 12_000;

export const scenario = defineScenario(import.meta.url, {
  name: 'payment-gateway-outage',
  title: 'Payment gateway outage: retries, breaker, pending payments, recovery',
  guide: 'Q3: How do you design a secure, high-availability payment system? (payment gateway integration with retries)',
  blocks: ['resilience'],
  async run({ log, check }) {
    const clock = new ManualClock();
    const seconds = (ms = clock.now()): string => `${(ms / 1000).toFixed(2).padStart(5)}s`;

    // The simulated gateway: 60 ms per charge when up, a 503 after 30 ms during the outage.
    const ledger = new Map<string, number>();
    let gatewayCalls = 0;
    let gatewayCallsInOutage = 0;
    const gateway = async (payment: Payment, signal: AbortSignal): Promise<void> => {
      gatewayCalls++;
      const down = clock.now() >= OUTAGE_START && clock.now() < OUTAGE_END;
      if (down) gatewayCallsInOutage++;
      await clock.sleep(down ? 30 : 60, signal);
      if (down) throw new Error('gateway 503');
      ledger.set(payment.id, (ledger.get(payment.id) ?? 0) + 1);
    };

    const breaker = new CircuitBreaker({
      name: 'payment-gateway',
      failureThreshold: 50,
      minimumCalls: 6,
      window: 5_000,
      resetAfter: { initial: 1_500, max: 4_000, multiplier: 2 },
      clock,
    });
    const retries = retry({
      maxAttempts: 3,
      backoff: { initial: 100, max: 400, jitter: 'full', random: seededRandom(7) },
      clock,
    });
    const timeline: string[] = [];
    const openPeriods: number[] = [];
    breaker.onOpen((e) => {
      if (e.openForMs !== undefined) openPeriods.push(e.openForMs);
      const why =
        e.window === undefined
          ? 'probe failed'
          : `failure rate ${Math.round(e.window.failureRate)}% of ${e.window.calls} calls`;
      timeline.push(`${seconds()}  → open      (${why}; fail fast for ${(e.openForMs ?? 0) / 1000}s)`);
    });
    breaker.onHalfOpen(() => timeline.push(`${seconds()}  → halfOpen  (next payment is the probe)`));
    breaker.onClose(() => timeline.push(`${seconds()}  → closed    (probe charged: gateway is back)`));
    let retried = 0;
    retries.onRetry(() => retried++);

    // Recommended order: fallback ← retry ← breaker ← timeout (a bulkhead would sit after the fallback).
    const payments = pipeline(
      fallback((): 'pending' => 'pending'),
      retries,
      breaker,
      timeout(1_000, { clock }),
    );
    const pay = async (payment: Payment): Promise<PaymentResult> => {
      const outcome = await payments.execute(async ({ signal }) => {
        await gateway(payment, signal);
        return 'charged' as const;
      });
      return { id: payment.id, status: outcome };
    };

    // 80 payments, one every 250 ms.
    const results: Promise<PaymentResult>[] = [];
    for (let i = 0; i < 80; i++) {
      results.push(pay({ id: `PAY-${String(i).padStart(3, '0')}`, amount: 10_000 + i }));
      await clock.advanceAsync(250);
    }
    await clock.advanceAsync(5_000);
    const settled = await Promise.all(results);
    const charged = settled.filter((r) => r.status === 'charged');
    const pending = settled.filter((r) => r.status === 'pending');

    log(`gateway down from ${seconds(OUTAGE_START)} to ${seconds(OUTAGE_END)}; breaker timeline:`);
    log(`${seconds(0)}  closed`);
    for (const line of timeline) log(line);
    const inOutage = Math.ceil((OUTAGE_END - OUTAGE_START) / 250);
    log(
      `payments: ${charged.length} charged, ${pending.length} parked as pending; ${retried} retries; ` +
        `${gatewayCallsInOutage} gateway calls during the outage for ${inOutage} payments`,
    );

    // Reconciliation: the parked payments are charged once the gateway is back.
    const reconciled = await Promise.all(
      pending.map(async (p) => {
        const r = pay({ id: p.id, amount: 0 });
        await clock.advanceAsync(100);
        return r;
      }),
    );
    log(`reconciliation: ${reconciled.filter((r) => r.status === 'charged').length} of ${pending.length} settled`);

    check(
      'the breaker opened during the outage',
      timeline.some((l) => l.includes('open ')),
    );
    check(
      'fail fast: far fewer gateway calls than payments during the outage',
      gatewayCallsInOutage < inOutage,
      `${gatewayCallsInOutage} calls for ${inOutage} payments, up to ${inOutage * 3} with retries alone`,
    );
    check(
      'each failed probe kept it open longer (growing open period, capped)',
      openPeriods.length >= 2 && openPeriods.every((p, i) => i === 0 || p >= (openPeriods[i - 1] ?? 0)),
      openPeriods.map((p) => `${p / 1000}s`).join(' → '),
    );
    check(
      'the half-open probe found the recovery and closed the breaker',
      breaker.state === 'closed' && timeline.at(-1)?.includes('closed') === true,
    );
    check('no payment was lost: every one is charged or pending', charged.length + pending.length === 80);
    check(
      'after reconciliation every payment is charged exactly once',
      reconciled.every((r) => r.status === 'charged') &&
        ledger.size === 80 &&
        [...ledger.values()].every((n) => n === 1),
      `${gatewayCalls} gateway calls in total`,
    );
  },
});
