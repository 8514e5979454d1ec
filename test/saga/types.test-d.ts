import { describe, expectTypeOf, it } from 'vitest';
import {
  defineSaga,
  MemorySagaLog,
  type Saga,
  type SagaCompensationContext,
  type SagaInputOf,
  SagaOrchestrator,
  type SagaOutputsOf,
  type SagaResult,
  type SagaStepContext,
} from '../../src/saga/index.js';

interface Order {
  readonly sku: string;
  readonly cents: number;
}

const checkout = defineSaga<Order>('checkout')
  .step('reserve', {
    run: ({ input }) => ({ reservationId: `r-${input.sku}` }),
    compensate: (ctx) => {
      expectTypeOf(ctx).toExtend<SagaCompensationContext<Order, Record<never, never>, { reservationId: string }>>();
      if (ctx.completed) expectTypeOf(ctx.output).toEqualTypeOf<{ reservationId: string }>();
      else expectTypeOf(ctx.output).toEqualTypeOf<undefined>();
    },
  })
  .step('charge', {
    run: async ({ input, outputs }) => {
      expectTypeOf(outputs.reserve.reservationId).toEqualTypeOf<string>();
      return { chargeId: `ch-${input.cents}` };
    },
    compensate: () => {},
  })
  .pivot('confirm', { run: ({ outputs }) => outputs.charge.chargeId.length > 0 })
  .step('ship', { run: async () => ({ trackingId: 't' }) })
  .parallel((g) =>
    g
      .step('email', { run: ({ outputs }) => outputs.ship.trackingId })
      .step('sms', { run: ({ outputs }) => outputs.confirm }),
  )
  .build();

describe('saga types', () => {
  it('infers every output by step name, awaited', () => {
    expectTypeOf(checkout).toEqualTypeOf<
      Saga<
        Order,
        {
          readonly reserve: { reservationId: string };
          readonly charge: { chargeId: string };
          readonly confirm: boolean;
          readonly ship: { trackingId: string };
          readonly email: string;
          readonly sms: boolean;
        }
      >
    >();
    expectTypeOf<SagaInputOf<typeof checkout>>().toEqualTypeOf<Order>();
    expectTypeOf<SagaOutputsOf<typeof checkout>['charge']>().toEqualTypeOf<{ chargeId: string }>();
  });

  it('gives run a typed result whose outputs match the definition', async () => {
    const orchestrator = new SagaOrchestrator({ log: new MemorySagaLog() });
    const result = await orchestrator.run(checkout, { sku: 'mug', cents: 100 }, { sagaId: 'o-1' });
    expectTypeOf(result).toEqualTypeOf<SagaResult<SagaOutputsOf<typeof checkout>>>();
    if (result.status === 'completed') expectTypeOf(result.outputs.ship.trackingId).toEqualTypeOf<string>();
    if (result.status === 'compensated') expectTypeOf(result.failedStep).toEqualTypeOf<string>();
    if (result.status === 'needs_intervention') expectTypeOf(result.phase).toEqualTypeOf<'forward' | 'compensation'>();
    // @ts-expect-error the input must match the saga's input type
    await orchestrator.run(checkout, { sku: 'mug' }, { sagaId: 'o-2' });
  });

  it('a step sees only the outputs of the steps before it', () => {
    defineSaga('order')
      .step('a', { run: () => 1, compensate: () => {} })
      .step('b', {
        run: ({ outputs }) => {
          expectTypeOf(outputs).toEqualTypeOf<{ readonly a: number }>();
          // @ts-expect-error 'c' comes later
          return outputs.c;
        },
        compensate: () => {},
      })
      .step('c', { run: () => 'c', compensate: () => {} });
    defineSaga('siblings').parallel((g) =>
      g.step('x', { run: () => 1, compensate: () => {} }).step('y', {
        run: ({ outputs }) => {
          // @ts-expect-error a parallel sibling's output is not visible
          return outputs.x;
        },
        compensate: () => {},
      }),
    );
  });

  it('a step before the pivot without a compensation does not compile', () => {
    // @ts-expect-error compensate is required before the pivot
    defineSaga('missing').step('reserve', { run: () => 1 });
    defineSaga('missing-in-group').parallel((g) =>
      // @ts-expect-error compensate is required in a group before the pivot
      g.step('reserve', { run: () => 1 }),
    );
  });

  it('a compensatable step at or after the pivot does not compile', () => {
    // @ts-expect-error the pivot has no compensation
    defineSaga('pivot').pivot('confirm', { run: () => 1, compensate: () => {} });
    const after = defineSaga('after').pivot('confirm', { run: () => 1 });
    // @ts-expect-error a step after the pivot has no compensation
    after.step('ship', { run: () => 1, compensate: () => {} });
    after.parallel((g) =>
      // @ts-expect-error nor does one in a group after the pivot
      g.step('email', { run: () => 1, compensate: () => {} }),
    );
    // @ts-expect-error there is only one pivot
    after.pivot('again', { run: () => 1 });
  });

  it('a duplicate step name does not compile', () => {
    const one = defineSaga('dup').step('a', { run: () => 1, compensate: () => {} });
    // @ts-expect-error 'a' is taken
    one.step('a', { run: () => 2, compensate: () => {} });
    // @ts-expect-error 'a' is taken, for the pivot too
    one.pivot('a', { run: () => 2 });
    one.parallel((g) =>
      // @ts-expect-error and inside a group
      g.step('b', { run: () => 1, compensate: () => {} }).step('b', { run: () => 1, compensate: () => {} }),
    );
  });

  it('contexts carry the idempotency key and a signal', () => {
    expectTypeOf<SagaStepContext<Order, object>['idempotencyKey']>().toEqualTypeOf<string>();
    expectTypeOf<SagaStepContext<Order, object>['signal']>().toEqualTypeOf<AbortSignal>();
  });
});
