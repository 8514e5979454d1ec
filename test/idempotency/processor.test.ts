import { describe, expect, it } from 'vitest';
import { isValidationError, ManualClock } from '../../src/core/index.js';
import {
  createPaymentProcessor,
  type IdempotencyOutcome,
  isIdempotencyInProgressError,
  isIdempotencyKeyReusedError,
  isPaymentDeclinedError,
  isPaymentGatewayRejectedError,
  isPaymentGatewayUnavailableError,
  isReplayedError,
  MemoryIdempotencyStore,
  type PaymentChargeRequest,
  type PaymentPhaseEvent,
  type PaymentProcessorOptions,
  SimulatedGateway,
  type SimulatedGatewayFault,
} from '../../src/idempotency/index.js';
import { drive, seeded, settle } from './support.js';
import { type CrashPoint, SimProcess } from './world.js';

const PAN = '4242 4242 4242 4242';

function world(options: { latency?: number; fault?: (attempt: number, key: string) => SimulatedGatewayFault } = {}) {
  const clock = new ManualClock();
  const store = new MemoryIdempotencyStore({ clock });
  const gateway = new SimulatedGateway({
    clock,
    latency: options.latency ?? 10,
    ...(options.fault === undefined ? {} : { fault: (c) => options.fault?.(c.attempt, c.idempotencyKey) ?? 'none' }),
  });
  const paymentMethod = gateway.createPaymentMethod({ number: PAN, expMonth: 1, expYear: 2031 });
  let ids = 0;
  const processorOptions = (extra: Partial<PaymentProcessorOptions> = {}): Partial<PaymentProcessorOptions> => ({
    lease: 1_000,
    gatewayBackoff: { initial: 50, max: 50, jitter: 'none' },
    generateId: () => `id${++ids}`,
    ...extra,
  });
  const spawn = (crashAt?: CrashPoint, extra: Partial<PaymentProcessorOptions> = {}) =>
    new SimProcess(store, gateway, clock, {
      ...(crashAt === undefined ? {} : { crashAt: (p: CrashPoint) => p === crashAt }),
      processor: processorOptions(extra),
    });
  const request = (key = 'order-1', extra: Partial<PaymentChargeRequest> = {}): PaymentChargeRequest => ({
    idempotencyKey: key,
    customerId: 'cust-1',
    amount: 2_500,
    currency: 'USD',
    paymentMethod,
    reference: key,
    ...extra,
  });
  return { clock, store, gateway, paymentMethod, spawn, request, processorOptions };
}

describe('PaymentProcessor', () => {
  it('charges once; a retry replays the same receipt', async () => {
    const { clock, gateway, spawn, request } = world();
    const { processor } = spawn();
    const first = await drive(clock, processor.charge(request()));
    const retry = await drive(clock, processor.charge(request()));
    expect(first.value).toEqual({
      kind: 'charge',
      paymentId: 'pay_id1',
      status: 'succeeded',
      customerId: 'cust-1',
      amount: 2_500,
      currency: 'USD',
      chargeId: gateway.charges()[0]?.chargeId,
      card: { brand: 'visa', last4: '4242' },
      reference: 'order-1',
    });
    expect(retry).toEqual({ ...first, replayed: true });
    expect(gateway.chargeCount).toBe(1);
    expect(gateway.charges()[0]?.idempotencyKey).toBe('pay_id1:charge');
  });

  it('passes the recovery points in order', async () => {
    const { clock, spawn, request } = world();
    const { processor } = spawn();
    const phases: PaymentPhaseEvent[] = [];
    processor.onPhase((e) => phases.push(e));
    await drive(clock, processor.charge(request()));
    await drive(clock, processor.charge(request())); // replay: no phases
    expect(phases.map((p) => p.phase)).toEqual(['started', 'charge_requested', 'charge_recorded', 'finished']);
    expect(new Set(phases.map((p) => p.paymentId))).toEqual(new Set(['pay_id1']));
  });

  it('a response lost after the charge is found again with the same gateway key, not repeated', async () => {
    const { clock, gateway, spawn, request } = world({ fault: (attempt) => (attempt === 1 ? 'timeout' : 'none') });
    const { processor } = spawn();
    const result = await drive(clock, processor.charge(request()));
    expect(result.value.chargeId).toBe(gateway.charges()[0]?.chargeId);
    expect(gateway.chargeCount).toBe(1);
    expect(gateway.requestCount).toBe(2);
    expect(gateway.replayCount).toBe(1);
  });

  it('when every attempt fails the key is released at charge_requested; the retry charges once', async () => {
    let down = true;
    const { clock, gateway, spawn, request, store } = world({ fault: () => (down ? 'timeout' : 'none') });
    const { processor } = spawn();
    const failed = await drive(clock, settle(processor.charge(request())));
    expect(failed.ok).toBe(false);
    expect(gateway.chargeCount).toBe(1); // the first timed-out attempt did charge
    const record = await store.get({ scope: 'payments/cust-1', key: 'order-1' });
    expect(record?.state === 'in_progress' && (record.progress as { phase: string }).phase).toBe('charge_requested');
    down = false;
    const retry = await drive(clock, processor.charge(request()));
    expect(retry.replayed).toBe(false);
    expect(gateway.chargeCount).toBe(1);
    expect(retry.value.chargeId).toBe(gateway.charges()[0]?.chargeId);
  });

  it('an unavailable gateway surfaces after its attempts, and nothing was charged', async () => {
    const { clock, gateway, spawn, request } = world({ fault: () => 'unavailable' });
    const { processor } = spawn(undefined, { gatewayAttempts: 2 });
    const r = await drive(clock, settle(processor.charge(request())));
    expect(!r.ok && isPaymentGatewayUnavailableError(r.error)).toBe(true);
    expect(gateway.requestCount).toBe(2);
    expect(gateway.chargeCount).toBe(0);
  });

  it.each([
    ['acquired', 'discarded', 0],
    ['started', 'finished', 1],
    ['charge_requested', 'finished', 1],
    ['gateway_answered', 'finished', 1],
    ['charge_recorded', 'finished', 1],
  ] as const)('a crash after %s is driven to a terminal state by complete()', async (point, verdict, charges) => {
    const { clock, gateway, spawn, request, store } = world();
    const crashing = spawn(point);
    const lost = await drive(clock, settle(crashing.processor.charge(request())));
    expect(lost.ok).toBe(false);
    expect(crashing.dead).toBe(true);
    const survivor = spawn();
    const early = await drive(clock, survivor.processor.complete());
    expect(early).toMatchObject({ examined: 1, busy: 1, finished: 0 }); // the lease is still live
    await clock.advanceAsync(1_000);
    const report = await drive(clock, survivor.processor.complete());
    expect(report).toMatchObject({ examined: 1, [verdict]: 1, unresolved: [] });
    expect(gateway.chargeCount).toBe(charges);
    expect((await store.listUnfinished()).length).toBe(0);
    const after = await drive(clock, survivor.processor.charge(request()));
    expect(after.replayed).toBe(verdict === 'finished');
    expect(gateway.chargeCount).toBe(1);
    expect(after.value.chargeId).toBe(gateway.charges()[0]?.chargeId);
  });

  it('duplicates while the first runs get 409; afterwards every duplicate replays the same receipt', async () => {
    const { clock, gateway, spawn, request } = world({ latency: 100 });
    const { processor } = spawn();
    const calls = Array.from({ length: 20 }, () => settle(processor.charge(request())));
    const results = await drive(clock, Promise.all(calls));
    const ok = results.filter((r) => r.ok);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => !r.ok && isIdempotencyInProgressError(r.error))).toHaveLength(19);
    const replays = await drive(clock, Promise.all(Array.from({ length: 20 }, () => processor.charge(request()))));
    const firstResult = (ok[0] as { value: object }).value;
    for (const r of replays) expect(r).toEqual({ ...firstResult, replayed: true });
    expect(gateway.chargeCount).toBe(1);
  });

  it("with onInProgress 'wait', 20 concurrent duplicates all get the one receipt", async () => {
    const { clock, gateway, spawn, request } = world({ latency: 100 });
    const { processor } = spawn(undefined, { onInProgress: 'wait' });
    const results = await drive(clock, Promise.all(Array.from({ length: 20 }, () => processor.charge(request()))));
    expect(new Set(results.map((r) => r.value.chargeId)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(gateway.chargeCount).toBe(1);
  });

  it('a lease that expires mid-call is taken over; both workers use the same gateway key: one charge', async () => {
    const clock = new ManualClock();
    const store = new MemoryIdempotencyStore({ clock });
    let calls = 0;
    const gateway = new SimulatedGateway({ clock, latency: () => (++calls === 1 ? 2_000 : 10) });
    const paymentMethod = gateway.createPaymentMethod({ number: PAN, expMonth: 1, expYear: 2031 });
    const options = { lease: 1_000, generateId: () => 'same' };
    const slow = new SimProcess(store, gateway, clock, { processor: options });
    const fast = new SimProcess(store, gateway, clock, { processor: options });
    const req: PaymentChargeRequest = {
      idempotencyKey: 'k',
      customerId: 'c',
      amount: 100,
      currency: 'USD',
      paymentMethod,
    };
    const stale = settle(slow.processor.charge(req));
    await clock.advanceAsync(1_500);
    const fresh = await drive(clock, fast.processor.charge(req));
    const staleResult = await drive(clock, stale);
    expect(!staleResult.ok && isIdempotencyInProgressError(staleResult.error)).toBe(true);
    expect(gateway.chargeCount).toBe(1);
    expect(gateway.requestCount).toBe(2);
    const replay = await drive(clock, slow.processor.charge(req));
    expect(replay).toEqual({ ...fresh, replayed: true });
  });

  it('a decline is terminal: saved, replayed, nothing charged', async () => {
    const { clock, gateway, spawn, request } = world();
    const declining = gateway.createPaymentMethod({ number: '4000000000000002', expMonth: 1, expYear: 2031 });
    const { processor } = spawn();
    const first = await drive(clock, settle(processor.charge(request('d', { paymentMethod: declining }))));
    const second = await drive(clock, settle(processor.charge(request('d', { paymentMethod: declining }))));
    if (first.ok || second.ok) throw new Error('expected declines');
    expect(isPaymentDeclinedError(first.error) && !isReplayedError(first.error)).toBe(true);
    expect(isPaymentDeclinedError(second.error) && isReplayedError(second.error)).toBe(true);
    if (isPaymentDeclinedError(second.error)) {
      expect(second.error.declineCode).toBe('card_declined');
      expect(second.error.httpStatus).toBe(402);
      expect(second.error.message).toBe((first.error as Error).message);
    }
    expect(gateway.chargeCount).toBe(0);
    expect(gateway.requestCount).toBe(1);
  });

  it('a gateway rejection is terminal too', async () => {
    const { clock, spawn, request } = world();
    const { processor } = spawn();
    const r = await drive(clock, settle(processor.charge(request('x', { paymentMethod: 'pm_unknown' }))));
    const again = await drive(clock, settle(processor.charge(request('x', { paymentMethod: 'pm_unknown' }))));
    expect(!r.ok && isPaymentGatewayRejectedError(r.error)).toBe(true);
    expect(!again.ok && isPaymentGatewayRejectedError(again.error) && isReplayedError(again.error)).toBe(true);
  });

  it('the same key with another amount is refused (422); another customer’s key is independent', async () => {
    const { clock, gateway, spawn, request } = world();
    const { processor } = spawn();
    await drive(clock, processor.charge(request()));
    const changed = await drive(clock, settle(processor.charge(request('order-1', { amount: 9_999 }))));
    expect(!changed.ok && isIdempotencyKeyReusedError(changed.error)).toBe(true);
    const other = await drive(clock, processor.charge(request('order-1', { customerId: 'cust-2' })));
    expect(other.replayed).toBe(false);
    expect(gateway.chargeCount).toBe(2);
  });

  it('refuses card numbers as payment methods without echoing them, and other bad input', async () => {
    const { spawn, request } = world();
    const { processor } = spawn();
    const cases: [Partial<PaymentChargeRequest>, string][] = [
      [{ paymentMethod: PAN }, 'request.paymentMethod'],
      [{ paymentMethod: '4242424242424242' }, 'request.paymentMethod'],
      [{ amount: 0 }, 'request.amount'],
      [{ currency: 'dollars' }, 'request.currency'],
      [{ customerId: '' }, 'request.customerId'],
      [{ idempotencyKey: '' }, 'idempotencyKey'],
      [{ metadata: { n: 1 as unknown as string } }, 'request.metadata.n'],
    ];
    for (const [patch, argument] of cases) {
      const r = await settle(processor.charge(request('k', patch)));
      expect(!r.ok && isValidationError(r.error) && r.error.argument, argument).toBe(argument);
      if (!r.ok) expect(String((r.error as Error).message)).not.toContain('4242');
    }
  });

  it('keeps card numbers out of everything at rest (recovery points and outcomes)', async () => {
    const { clock, spawn, request, store } = world();
    const crashing = spawn('charge_recorded');
    const note = { note: `please use ${PAN}` };
    await drive(clock, settle(crashing.processor.charge(request('r', { metadata: note }))));
    const unfinished = await store.get({ scope: 'payments/cust-1', key: 'r' });
    expect(unfinished?.state).toBe('in_progress');
    expect(JSON.stringify(unfinished)).not.toMatch(/4242 4242|4242424242/);
    expect(JSON.stringify(unfinished)).toContain('•••• 4242');
    const { processor } = spawn();
    await clock.advanceAsync(1_000);
    await drive(clock, processor.complete());
    const done = await store.get({ scope: 'payments/cust-1', key: 'r' });
    expect(done?.state).toBe('completed');
    expect(JSON.stringify(done)).not.toMatch(/4242 4242|4242424242/);
    const first = await drive(clock, processor.charge(request('fresh', { metadata: note })));
    expect(first.value.metadata?.note).toBe(`please use ${PAN}`); // the live caller gets its own data back
    const replay = await drive(clock, processor.charge(request('fresh', { metadata: note })));
    expect(replay.value.metadata?.note).toBe('please use •••• 4242');
  });

  it('a custom redact sees only the merchant data, wherever it is written', async () => {
    const { clock, store, gateway, paymentMethod } = world();
    const seen: unknown[] = [];
    const processor = createPaymentProcessor({
      gateway,
      store,
      clock,
      redact: (data) => {
        seen.push(data);
        return { ...data, metadata: { ...data.metadata, email: '[removed]' } };
      },
    });
    const metadata = { email: 'ana@example.com', order: '7' };
    const first = await drive(
      clock,
      processor.charge({
        idempotencyKey: 'k',
        customerId: 'c',
        amount: 1,
        currency: 'USD',
        paymentMethod,
        reference: 'o-7',
        metadata,
      }),
    );
    expect(seen).toEqual(Array.from({ length: 4 }, () => ({ reference: 'o-7', metadata }))); // 3 recovery points, 1 outcome
    expect(first.value.metadata).toEqual(metadata);
    const record = await processor.inspect('c', 'k');
    expect(record?.state === 'completed' && (record.outcome as IdempotencyOutcome)).toMatchObject({
      type: 'value',
      value: { metadata: { email: '[removed]', order: '7' }, paymentId: first.value.paymentId },
    });
  });

  it('ids that look like card numbers are never redacted, so a resumed run keeps its gateway key', async () => {
    // A random id can contain a Luhn-valid run of digits; redaction must not turn it into another gateway key.
    const { clock, gateway, paymentMethod, store } = world({
      fault: (attempt) => (attempt === 1 ? 'timeout' : 'none'),
    });
    const processor = createPaymentProcessor({
      gateway,
      store,
      clock,
      gatewayAttempts: 1,
      generateId: () => '4242-4242-4242-4242',
    });
    const request = { idempotencyKey: 'k', customerId: 'c', amount: 100, currency: 'USD', paymentMethod };
    const lost = await drive(clock, settle(processor.charge(request)));
    expect(lost.ok).toBe(false);
    const retry = await drive(clock, processor.charge(request));
    expect(gateway.chargeCount).toBe(1);
    expect(retry.value.paymentId).toBe('pay_4242-4242-4242-4242');
    expect(gateway.charges()[0]?.idempotencyKey).toBe('pay_4242-4242-4242-4242:charge');
  });

  it('the sweep leaves payments unresolved while the gateway is down, and finishes them later', async () => {
    let down = false;
    const { clock, gateway, spawn, request } = world({ fault: () => (down ? 'unavailable' : 'none') });
    const crashing = spawn('charge_requested');
    await drive(clock, settle(crashing.processor.charge(request())));
    down = true;
    const { processor } = spawn(undefined, { sweepAttempts: 2, gatewayAttempts: 1 });
    await clock.advanceAsync(1_000);
    const first = await drive(clock, processor.complete());
    expect(first.unresolved).toHaveLength(1);
    expect(isPaymentGatewayUnavailableError(first.unresolved[0]?.error)).toBe(true);
    down = false;
    const second = await drive(clock, processor.complete());
    expect(second).toMatchObject({ examined: 1, finished: 1, unresolved: [] });
    expect(gateway.chargeCount).toBe(1);
  });

  it('the sweep only looks at its own scope prefix and honours limit', async () => {
    const { clock, store, spawn, request } = world();
    await store.begin({ scope: 'other/x', key: 'k', fingerprint: 'f', leaseMs: 1, retentionMs: 1_000_000 });
    for (const key of ['a', 'b', 'c']) await drive(clock, settle(spawn('started').processor.charge(request(key))));
    await clock.advanceAsync(1_000);
    const { processor } = spawn();
    const limited = await drive(clock, processor.complete({ limit: 2 }));
    expect(limited.examined).toBe(2);
    const rest = await drive(clock, processor.complete());
    expect(rest.examined).toBe(1);
    expect((await store.listUnfinished()).map((r) => r.scope)).toEqual(['other/x']);
  });

  it('refunds once per key; over-refunds are rejected and replayed; a crashed refund is completed', async () => {
    const { clock, gateway, spawn, request } = world();
    const { processor } = spawn();
    const charge = await drive(clock, processor.charge(request()));
    const refundReq = {
      idempotencyKey: 'refund-1',
      customerId: 'cust-1',
      chargeId: charge.value.chargeId,
      amount: 1_000,
    };
    const refund = await drive(clock, processor.refund(refundReq));
    expect(refund.value).toMatchObject({
      kind: 'refund',
      amount: 1_000,
      chargeId: charge.value.chargeId,
      status: 'succeeded',
    });
    expect((await drive(clock, processor.refund(refundReq))).replayed).toBe(true);
    expect(gateway.refundCount).toBe(1);
    const over = { ...refundReq, idempotencyKey: 'refund-2', amount: 2_000 };
    const r = await drive(clock, settle(processor.refund(over)));
    expect(!r.ok && isPaymentGatewayRejectedError(r.error) && r.error.reason).toBe('refund_exceeds_charge');
    const again = await drive(clock, settle(processor.refund(over)));
    expect(!again.ok && isReplayedError(again.error)).toBe(true);

    const crashing = spawn('gateway_answered');
    const third = { ...refundReq, idempotencyKey: 'refund-3', amount: 500 };
    await drive(clock, settle(crashing.processor.refund(third)));
    expect(gateway.refundCount).toBe(2);
    await clock.advanceAsync(1_000);
    const report = await drive(clock, processor.complete());
    expect(report).toMatchObject({ finished: 1, unresolved: [] });
    expect(gateway.refundCount).toBe(2);
    expect((await drive(clock, processor.refund(third))).replayed).toBe(true);
    expect(gateway.charges()[0]?.refunded).toBe(1_500);
  });

  it('validates its options, naming the option', () => {
    const { store, gateway } = world();
    const bad: [Partial<PaymentProcessorOptions>, string][] = [
      [{ gateway: {} as never }, 'options.gateway.charge'],
      [{ store: {} as never }, 'options.store.listUnfinished'],
      [{ gatewayAttempts: 0 }, 'options.gatewayAttempts'],
      [{ sweepAttempts: 1.5 }, 'options.sweepAttempts'],
      [{ redact: 'x' as never }, 'options.redact'],
      [{ lease: 0 }, 'options.lease'],
      [{ scopePrefix: 1 as never }, 'options.scopePrefix'],
    ];
    for (const [patch, argument] of bad) {
      let error: unknown;
      try {
        createPaymentProcessor({ gateway, store, ...patch });
      } catch (e: unknown) {
        error = e;
      }
      expect(isValidationError(error) && error.argument, argument).toBe(argument);
    }
  });

  it('resumes correctly whatever the gateway faults (seeded sample)', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seeded(seed);
      const faults: SimulatedGatewayFault[] = ['none', 'timeout', 'unavailable'];
      const { clock, gateway, spawn, request } = world({ fault: () => faults[Math.floor(random() * 3)] ?? 'none' });
      const { processor } = spawn(undefined, { gatewayAttempts: 2 });
      let final: unknown;
      for (let attempt = 0; attempt < 30 && final === undefined; attempt++) {
        const r = await drive(clock, settle(processor.charge(request())));
        if (r.ok) final = r.value;
      }
      expect(final, `seed ${seed}`).toBeDefined();
      expect(gateway.chargeCount, `seed ${seed}`).toBe(1);
    }
  });
});
