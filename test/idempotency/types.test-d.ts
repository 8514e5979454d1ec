import { describe, expectTypeOf, it } from 'vitest';
import {
  createPaymentProcessor,
  type IdempotencyBeginResult,
  type IdempotencyEvent,
  type IdempotencyRecord,
  type IdempotentFunction,
  type IdempotentResult,
  idempotent,
  isPaymentDeclinedError,
  MemoryIdempotencyStore,
  type PaymentChargeReceipt,
  type PaymentDeclinedError,
  SimulatedGateway,
} from '../../src/idempotency/index.js';

interface Req {
  readonly customerId: string;
  readonly key: string;
  readonly amount: number;
}

describe('idempotency types', () => {
  it('infers the result type from an async handler', () => {
    const fn = idempotent(async (req: Req) => ({ total: req.amount }), {
      store: new MemoryIdempotencyStore(),
      key: (r) => r.key,
      scope: (r) => r.customerId,
    });
    expectTypeOf(fn).toEqualTypeOf<IdempotentFunction<Req, { total: number }>>();
    expectTypeOf(fn).returns.resolves.toEqualTypeOf<IdempotentResult<{ total: number }>>();
    expectTypeOf(fn).parameter(0).toEqualTypeOf<Req>();
  });

  it('requires a store, a key and a scope', () => {
    const store = new MemoryIdempotencyStore();
    // @ts-expect-error: scope is required, so a key can never be shared across callers by omission
    idempotent((req: Req) => req.amount, { store, key: (r: Req) => r.key });
    // @ts-expect-error: the key extractor must return a string
    idempotent((req: Req) => req.amount, { store, key: (r: Req) => r.amount, scope: (r: Req) => r.customerId });
  });

  it('narrows store results and records by their discriminant', () => {
    const handle = (r: IdempotencyBeginResult): number => {
      if (r.status === 'acquired') return r.token;
      if (r.status === 'in_progress') return r.leaseExpiresAt;
      if (r.status === 'completed') {
        expectTypeOf(r.outcome.type).toEqualTypeOf<'value' | 'error'>();
        return r.completedAt;
      }
      expectTypeOf(r.status).toEqualTypeOf<'mismatch'>();
      return 0;
    };
    expectTypeOf(handle).returns.toBeNumber();
    const record = {} as IdempotencyRecord;
    if (record.state === 'in_progress') expectTypeOf(record.token).toBeNumber();
    else expectTypeOf(record.outcome).not.toBeUndefined();
    const event = {} as IdempotencyEvent;
    if (event.type === 'rejected') expectTypeOf(event.reason).toEqualTypeOf<'in_progress' | 'mismatch'>();
  });

  it('types processor results and error guards', () => {
    const payments = createPaymentProcessor({ gateway: new SimulatedGateway(), store: new MemoryIdempotencyStore() });
    expectTypeOf(payments.charge).returns.resolves.toEqualTypeOf<IdempotentResult<PaymentChargeReceipt>>();
    const e: unknown = null;
    if (isPaymentDeclinedError(e)) expectTypeOf(e).toEqualTypeOf<PaymentDeclinedError>();
  });
});
