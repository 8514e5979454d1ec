import { describe, expect, it } from 'vitest';
import { isValidationError, ManualClock } from '../../src/core/index.js';
import {
  isPaymentGatewayRejectedError,
  isPaymentGatewayTimeoutError,
  isPaymentGatewayUnavailableError,
  SimulatedGateway,
  type SimulatedGatewayCall,
  type SimulatedGatewayFault,
} from '../../src/idempotency/index.js';
import { drive, seeded, settle } from './support.js';

const card = { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2030 };

describe('SimulatedGateway', () => {
  it('charges once per idempotency key and replays the first result', async () => {
    const gateway = new SimulatedGateway();
    const paymentMethod = gateway.createPaymentMethod(card);
    const request = { idempotencyKey: 'g1', amount: 500, currency: 'USD', paymentMethod, reference: 'o1' };
    const a = await gateway.charge(request);
    const b = await gateway.charge(request);
    expect(a).toEqual({
      status: 'succeeded',
      chargeId: a.chargeId,
      amount: 500,
      currency: 'USD',
      card: { brand: 'visa', last4: '4242' },
    });
    expect(b).toEqual(a);
    expect(gateway.chargeCount).toBe(1);
    expect(gateway.requestCount).toBe(2);
    expect(gateway.replayCount).toBe(1);
    expect(gateway.charges()).toEqual([
      expect.objectContaining({ reference: 'o1', idempotencyKey: 'g1', refunded: 0 }),
    ]);
  });

  it('rejects a key reused with other parameters', async () => {
    const gateway = new SimulatedGateway();
    const paymentMethod = gateway.createPaymentMethod(card);
    await gateway.charge({ idempotencyKey: 'g1', amount: 500, currency: 'USD', paymentMethod });
    const r = await settle(gateway.charge({ idempotencyKey: 'g1', amount: 501, currency: 'USD', paymentMethod }));
    expect(!r.ok && isPaymentGatewayRejectedError(r.error) && r.error.reason).toBe('idempotency_key_reused');
    expect(gateway.chargeCount).toBe(1);
  });

  it('timeouts happen after the charge; unavailability before it', async () => {
    const script: SimulatedGatewayFault[] = ['timeout', 'none', 'unavailable', 'none'];
    const gateway = new SimulatedGateway({ fault: () => script.shift() ?? 'none' });
    const paymentMethod = gateway.createPaymentMethod(card);
    const first = await settle(gateway.charge({ idempotencyKey: 'a', amount: 1, currency: 'EUR', paymentMethod }));
    expect(!first.ok && isPaymentGatewayTimeoutError(first.error)).toBe(true);
    expect(gateway.chargeCount).toBe(1); // charged although the response was lost
    const found = await gateway.charge({ idempotencyKey: 'a', amount: 1, currency: 'EUR', paymentMethod });
    expect(found.status).toBe('succeeded');
    expect(gateway.chargeCount).toBe(1);
    const down = await settle(gateway.charge({ idempotencyKey: 'b', amount: 1, currency: 'EUR', paymentMethod }));
    expect(!down.ok && isPaymentGatewayUnavailableError(down.error)).toBe(true);
    expect(gateway.chargeCount).toBe(1); // nothing happened
    await gateway.charge({ idempotencyKey: 'b', amount: 1, currency: 'EUR', paymentMethod });
    expect(gateway.chargeCount).toBe(2);
  });

  it('declines test cards and the decline rate; a declined key stays declined', async () => {
    const gateway = new SimulatedGateway({ declineRate: 1 });
    const declining = gateway.createPaymentMethod({ ...card, number: '4000000000000002' });
    const r = await gateway.charge({ idempotencyKey: 'd', amount: 1, currency: 'USD', paymentMethod: declining });
    expect(r).toMatchObject({ status: 'declined', declineCode: 'card_declined' });
    expect(await gateway.charge({ idempotencyKey: 'd', amount: 1, currency: 'USD', paymentMethod: declining })).toEqual(
      r,
    );
    expect(gateway.declineCount).toBe(1);
    expect(gateway.chargeCount).toBe(0);
    const funds = new SimulatedGateway().createPaymentMethod({ ...card, number: '4000 0000 0000 9995' });
    expect(funds).toMatch(/^pm_/);
  });

  it('spends its latency on the clock, passing call details to latency and fault functions', async () => {
    const clock = new ManualClock();
    const calls: SimulatedGatewayCall[] = [];
    const gateway = new SimulatedGateway({
      clock,
      latency: (call) => {
        calls.push(call);
        return 100;
      },
    });
    const paymentMethod = gateway.createPaymentMethod(card);
    const request = { idempotencyKey: 'k', amount: 1, currency: 'USD', paymentMethod, reference: 'ref' };
    const p = gateway.charge(request);
    await drive(clock, p);
    expect(clock.now()).toBe(200); // processing, then answering
    await drive(clock, gateway.charge(request));
    expect(calls.map((c) => [c.attempt, c.reference, c.operation])).toEqual([
      [1, 'ref', 'charge'],
      [2, 'ref', 'charge'],
    ]);
  });

  it('an aborted call before processing charges nothing', async () => {
    const clock = new ManualClock();
    const gateway = new SimulatedGateway({ clock, latency: 100 });
    const paymentMethod = gateway.createPaymentMethod(card);
    const controller = new AbortController();
    const p = settle(
      gateway.charge({ idempotencyKey: 'k', amount: 1, currency: 'USD', paymentMethod }, { signal: controller.signal }),
    );
    await clock.advanceAsync(50);
    controller.abort();
    expect((await p).ok).toBe(false);
    expect(gateway.chargeCount).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('refunds up to the charged amount, once per key', async () => {
    const gateway = new SimulatedGateway();
    const paymentMethod = gateway.createPaymentMethod(card);
    const charge = await gateway.charge({ idempotencyKey: 'c', amount: 1_000, currency: 'USD', paymentMethod });
    if (charge.status !== 'succeeded') throw new Error('expected a charge');
    const r1 = await gateway.refund({ idempotencyKey: 'r1', chargeId: charge.chargeId, amount: 600 });
    expect(await gateway.refund({ idempotencyKey: 'r1', chargeId: charge.chargeId, amount: 600 })).toEqual(r1);
    expect(gateway.refundCount).toBe(1);
    const over = await settle(gateway.refund({ idempotencyKey: 'r2', chargeId: charge.chargeId, amount: 401 }));
    expect(!over.ok && isPaymentGatewayRejectedError(over.error) && over.error.reason).toBe('refund_exceeds_charge');
    const unknown = await settle(gateway.refund({ idempotencyKey: 'r3', chargeId: 'ch_nope', amount: 1 }));
    expect(!unknown.ok && isPaymentGatewayRejectedError(unknown.error) && unknown.error.reason).toBe('unknown_charge');
    await gateway.refund({ idempotencyKey: 'r4', chargeId: charge.chargeId, amount: 400 });
    expect(gateway.charges()[0]?.refunded).toBe(1_000);
  });

  it('rejects unknown payment method tokens', async () => {
    const gateway = new SimulatedGateway();
    const r = await settle(
      gateway.charge({ idempotencyKey: 'k', amount: 1, currency: 'USD', paymentMethod: 'pm_missing' }),
    );
    expect(!r.ok && isPaymentGatewayRejectedError(r.error) && r.error.reason).toBe('unknown_payment_method');
  });

  it('rates follow the injected random source', async () => {
    const gateway = new SimulatedGateway({ timeoutRate: 0.1, unavailableRate: 0.05, random: seeded(7) });
    const paymentMethod = gateway.createPaymentMethod(card);
    let timeouts = 0;
    let unavailable = 0;
    for (let i = 0; i < 2_000; i++) {
      const r = await settle(gateway.charge({ idempotencyKey: `k${i}`, amount: 1, currency: 'USD', paymentMethod }));
      if (!r.ok && isPaymentGatewayTimeoutError(r.error)) timeouts++;
      if (!r.ok && isPaymentGatewayUnavailableError(r.error)) unavailable++;
    }
    expect(timeouts / 2_000).toBeGreaterThan(0.07);
    expect(timeouts / 2_000).toBeLessThan(0.13);
    expect(unavailable / 2_000).toBeGreaterThan(0.03);
    expect(unavailable / 2_000).toBeLessThan(0.07);
    expect(gateway.chargeCount).toBe(2_000 - unavailable);
  });

  it('validates options, cards and requests without echoing card numbers', async () => {
    expect(() => new SimulatedGateway({ timeoutRate: 2 })).toThrow(/options.timeoutRate/);
    expect(() => new SimulatedGateway({ latency: -1 })).toThrow(/options.latency/);
    const gateway = new SimulatedGateway();
    let error: unknown;
    try {
      gateway.createPaymentMethod({ number: '4242 4242 4242 424x', expMonth: 1, expYear: 2030 });
    } catch (e: unknown) {
      error = e;
    }
    expect(isValidationError(error)).toBe(true);
    expect(String((error as Error).message)).not.toContain('4242');
    const bad = await settle(gateway.charge({ idempotencyKey: 'k', amount: 1.5, currency: 'USD', paymentMethod: 'x' }));
    expect(!bad.ok && isValidationError(bad.error) && bad.error.argument).toBe('request.amount');
    const cur = await settle(gateway.charge({ idempotencyKey: 'k', amount: 1, currency: 'usd', paymentMethod: 'x' }));
    expect(!cur.ok && isValidationError(cur.error) && cur.error.argument).toBe('request.currency');
  });
});
