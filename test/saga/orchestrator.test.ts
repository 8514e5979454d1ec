import { describe, expect, it } from 'vitest';
import { isAbortedError, isValidationError, ManualClock, seededRandom } from '../../src/core/index.js';
import {
  defineSaga,
  isSagaAlreadyExistsError,
  isSagaDefinitionMismatchError,
  isSagaLeaseError,
  isSagaLogConflictError,
  isSagaLogCorruptError,
  isSagaNotFoundError,
  isSagaNotRegisteredError,
  isSagaOutputNotSerializableError,
  isSagaRecordedError,
  isSagaStateError,
  isSagaStepTimeoutError,
  MemorySagaLog,
  SagaOrchestrator,
  type SagaRecord,
} from '../../src/saga/index.js';
import { deferred, drain, rig, ServiceError, tamperable, trail } from './helpers.js';

interface Order {
  readonly orderId: string;
  readonly sku: string;
  readonly cents: number;
}

const ORDER: Order = { orderId: 'o-1', sku: 'mug', cents: 1_200 };

/** A checkout saga over an event list, failing where the test says. */
function checkout(
  calls: string[],
  fail: {
    charge?: () => unknown;
    ship?: (attempt: number) => unknown;
    release?: (attempt: number) => unknown;
  } = {},
  shipRetry = { maxAttempts: 3, backoff: { initial: 100, max: 1_000, jitter: 'none' as const } },
) {
  return defineSaga<Order>('checkout')
    .step('reserve', {
      run: ({ input, idempotencyKey }) => {
        calls.push(`reserve ${idempotencyKey}`);
        return { reservationId: `r-${input.sku}` };
      },
      compensate: (ctx) => {
        calls.push(`release ${ctx.completed ? ctx.output.reservationId : 'unknown'} #${ctx.attempt}`);
        fail.release?.(ctx.attempt);
      },
    })
    .step('charge', {
      run: ({ input, outputs }) => {
        calls.push(`charge ${input.cents} for ${outputs.reserve.reservationId}`);
        fail.charge?.();
        return { chargeId: 'ch-1' };
      },
      compensate: (ctx) => {
        calls.push(`refund ${ctx.completed ? ctx.output.chargeId : 'unknown'}`);
      },
    })
    .pivot('confirm', {
      run: ({ outputs }) => {
        calls.push(`confirm ${outputs.charge.chargeId}`);
        return { confirmed: true };
      },
    })
    .step('ship', {
      run: ({ attempt }) => {
        calls.push(`ship #${attempt}`);
        fail.ship?.(attempt);
        return { trackingId: 'trk-1' };
      },
      retry: shipRetry,
    })
    .step('notify', {
      run: ({ outputs }) => {
        calls.push(`notify ${outputs.ship.trackingId}`);
      },
    })
    .build();
}

describe('SagaOrchestrator.run', () => {
  it('runs the steps in order with the typed outputs of earlier steps and stable idempotency keys', async () => {
    const { orchestrator, log, entries } = rig();
    const calls: string[] = [];
    const result = await orchestrator.run(checkout(calls), ORDER, { sagaId: 'o-1' });
    expect(result.status).toBe('completed');
    if (result.status !== 'completed') return;
    expect(result.outputs).toEqual({
      reserve: { reservationId: 'r-mug' },
      charge: { chargeId: 'ch-1' },
      confirm: { confirmed: true },
      ship: { trackingId: 'trk-1' },
      notify: undefined,
    });
    expect(calls).toEqual(['reserve o-1:reserve', 'charge 1200 for r-mug', 'confirm ch-1', 'ship #1', 'notify trk-1']);
    const records = await log.read('o-1');
    expect(trail(records)).toEqual([
      'saga_started',
      'step_started:reserve',
      'step_completed:reserve',
      'step_started:charge',
      'step_completed:charge',
      'step_started:confirm',
      'step_completed:confirm',
      'step_started:ship',
      'step_completed:ship',
      'step_started:notify',
      'step_completed:notify',
      'saga_completed',
    ]);
    expect(entries.map((e) => e.seq)).toEqual(records.map((r) => r.seq));
    expect(await orchestrator.verifyLog('o-1')).toMatchObject({ ok: true, records: 12 });
    expect(await log.listUnfinished()).toEqual([]);
  });

  it('makes each step durable as started before it runs and as completed with its output after', async () => {
    const { orchestrator, log } = rig();
    const seen: string[][] = [];
    const saga = defineSaga('wal')
      .step('a', {
        run: async ({ sagaId }) => {
          seen.push(trail(await log.read(sagaId)));
          return { n: 1 };
        },
        compensate: () => {},
      })
      .step('b', {
        run: async ({ sagaId }) => {
          seen.push(trail(await log.read(sagaId)));
        },
        compensate: () => {},
      })
      .build();
    await orchestrator.run(saga, undefined, { sagaId: 'w' });
    expect(seen).toEqual([
      ['saga_started', 'step_started:a'],
      ['saga_started', 'step_started:a', 'step_completed:a', 'step_started:b'],
    ]);
    const completed = (await log.read('w'))[2];
    expect(completed).toMatchObject({ type: 'step_completed', step: 'a', output: { n: 1 } });
  });

  it('a failure before the pivot compensates every started step in reverse order, the failed one included', async () => {
    const { orchestrator, log } = rig();
    const calls: string[] = [];
    const declined = new ServiceError('E_CARD_DECLINED', 'card declined');
    const saga = checkout(calls, {
      charge: () => {
        throw declined;
      },
    });
    const result = await orchestrator.run(saga, ORDER, { sagaId: 'o-2' });
    expect(result).toMatchObject({ status: 'compensated', failedStep: 'charge' });
    if (result.status !== 'compensated') return;
    expect(result.error).toBe(declined);
    expect(result.failure).toEqual({ name: 'ServiceError', message: 'card declined', code: 'E_CARD_DECLINED' });
    expect(calls).toEqual(['reserve o-2:reserve', 'charge 1200 for r-mug', 'refund unknown', 'release r-mug #1']);
    expect(trail(await log.read('o-2')).slice(-7)).toEqual([
      'step_failed:charge',
      'saga_compensating',
      'compensation_started:charge',
      'compensation_completed:charge',
      'compensation_started:reserve',
      'compensation_completed:reserve',
      'saga_compensated',
    ]);
  });

  it('a failure at the pivot compensates the steps before it and never the pivot', async () => {
    const { orchestrator } = rig();
    const calls: string[] = [];
    const saga = defineSaga('pivot-fails')
      .step('a', { run: () => calls.push('a'), compensate: () => void calls.push('undo a') })
      .step('b', { run: () => calls.push('b'), compensate: () => void calls.push('undo b') })
      .pivot('p', {
        run: () => {
          calls.push('p');
          throw new Error('no');
        },
      })
      .step('after', { run: () => calls.push('after') })
      .build();
    const result = await orchestrator.run(saga, undefined, { sagaId: 's' });
    expect(result).toMatchObject({ status: 'compensated', failedStep: 'p' });
    expect(calls).toEqual(['a', 'b', 'p', 'undo b', 'undo a']);
  });

  it('after the pivot a failing step is retried with backoff and nothing is compensated', async () => {
    const { orchestrator, clock, log } = rig();
    const calls: string[] = [];
    const saga = checkout(calls, {
      ship: (attempt) => {
        if (attempt < 3) throw new ServiceError('E_CARRIER_DOWN');
      },
    });
    const result = await drain(clock, orchestrator.run(saga, ORDER, { sagaId: 'o-3' }));
    expect(result.status).toBe('completed');
    expect(calls.filter((c) => c.startsWith('ship'))).toEqual(['ship #1', 'ship #2', 'ship #3']);
    expect(calls.some((c) => c.startsWith('refund') || c.startsWith('release'))).toBe(false);
    const failures = (await log.read('o-3')).filter((r) => r.type === 'step_failed');
    expect(failures.map((r) => (r.type === 'step_failed' ? r.retryInMs : -1))).toEqual([100, 200]);
  });

  it('the orchestrator random jitters every backoff without its own, so seeded runs repeat exactly', async () => {
    const delays = async (random: (() => number) | undefined, stepRandom?: () => number) => {
      const { orchestrator, clock, log } = rig(random === undefined ? {} : { random });
      const saga = defineSaga('jittered')
        .step('flaky', {
          run: ({ attempt }) => {
            if (attempt < 4) throw new ServiceError('E_FLAKY');
          },
          compensate: () => {},
          retry: {
            maxAttempts: 5,
            backoff: { initial: 100, jitter: 'full', ...(stepRandom === undefined ? {} : { random: stepRandom }) },
          },
        })
        .build();
      expect((await drain(clock, orchestrator.run(saga, undefined, { sagaId: 'j' }))).status).toBe('completed');
      return (await log.read('j')).flatMap((r) => (r.type === 'step_failed' ? [r.retryInMs] : []));
    };
    const first = await delays(seededRandom(7));
    expect(first).toHaveLength(3);
    expect(await delays(seededRandom(7))).toEqual(first);
    expect(await delays(seededRandom(8))).not.toEqual(first);
    // Full jitter of 100, 200, 400 ms: a constant random of 0.5 gives half of each.
    expect(await delays(() => 0.5)).toEqual([50, 100, 200]);
    // A step's own random wins over the orchestrator's.
    expect(
      await delays(
        () => 0.5,
        () => 0.25,
      ),
    ).toEqual([25, 50, 100]);
  });

  it('rejects a random that is not a function', () => {
    const { log, clock } = rig();
    expect(() => new SagaOrchestrator({ log, clock, random: 0.5 as never })).toThrow(/options\.random/);
  });

  it('a step whose retries run out after the pivot stops the saga for an operator, who resumes it', async () => {
    const { orchestrator, clock } = rig();
    const calls: string[] = [];
    let carrierUp = false;
    const saga = checkout(calls, {
      ship: () => {
        if (!carrierUp) throw new ServiceError('E_CARRIER_DOWN', 'carrier down');
      },
    });
    const stopped = await drain(clock, orchestrator.run(saga, ORDER, { sagaId: 'o-4' }));
    expect(stopped).toMatchObject({ status: 'needs_intervention', phase: 'forward', step: 'ship' });
    if (stopped.status !== 'needs_intervention') return;
    expect(stopped.failure.code).toBe('E_CARRIER_DOWN');
    expect(calls.filter((c) => c.startsWith('ship'))).toHaveLength(3);
    expect(calls.some((c) => c.startsWith('refund') || c.startsWith('release'))).toBe(false);
    const status = await orchestrator.status('o-4');
    expect(status).toMatchObject({ status: 'needs_intervention', phase: 'forward', step: 'ship' });
    expect(status.steps.find((s) => s.name === 'ship')).toMatchObject({ state: 'failed', attempts: 3 });

    carrierUp = true;
    const resumed = await drain(clock, orchestrator.resume('o-4'));
    expect(resumed.status).toBe('completed');
    expect(calls.slice(-2)).toEqual(['ship #4', 'notify trk-1']);
    const again = await orchestrator.resume('o-4');
    expect(again.status).toBe('completed');
  });

  it('skip lets an operator finish a stuck step by hand and give its output to later steps', async () => {
    const { orchestrator, clock, log } = rig();
    const calls: string[] = [];
    const saga = checkout(calls, {
      ship: () => {
        throw new ServiceError('E_CARRIER_DOWN');
      },
    });
    await drain(clock, orchestrator.run(saga, ORDER, { sagaId: 'o-5' }));
    const done = await orchestrator.skip('o-5', 'ship', { output: { trackingId: 'by-hand-7' } });
    expect(done.status).toBe('completed');
    expect(calls.at(-1)).toBe('notify by-hand-7');
    expect(trail(await log.read('o-5'))).toContain('step_skipped:ship');
    await expect(orchestrator.skip('o-5', 'ship')).rejects.toSatisfy(isSagaStateError);
  });

  it('a compensation is retried with backoff; when it gives up the saga waits for an operator', async () => {
    const { orchestrator, clock, log } = rig();
    const calls: string[] = [];
    let warehouseUp = false;
    const saga = checkout(calls, {
      charge: () => {
        throw new ServiceError('E_CARD_DECLINED');
      },
      release: () => {
        if (!warehouseUp) throw new ServiceError('E_WAREHOUSE_DOWN');
      },
    });
    const stopped = await drain(clock, orchestrator.run(saga, ORDER, { sagaId: 'o-6' }));
    expect(stopped).toMatchObject({ status: 'needs_intervention', phase: 'compensation', step: 'reserve' });
    expect(calls.filter((c) => c.startsWith('release'))).toHaveLength(10);
    expect((await log.listUnfinished()).includes('o-6')).toBe(true);
    expect(await orchestrator.recover()).toMatchObject({
      results: [],
      skipped: [{ sagaId: 'o-6', reason: 'needs_intervention' }],
    });
    warehouseUp = true;
    const resumed = await drain(clock, orchestrator.resume('o-6'));
    expect(resumed).toMatchObject({ status: 'compensated', failedStep: 'charge' });
    expect(calls.at(-1)).toBe('release r-mug #11');
  });

  it('skip on a compensation records that an operator undid the step and finishes compensating', async () => {
    const { orchestrator, clock, log } = rig();
    const saga = checkout([], {
      charge: () => {
        throw new ServiceError('E_CARD_DECLINED');
      },
      release: () => {
        throw new ServiceError('E_WAREHOUSE_DOWN');
      },
    });
    await drain(clock, orchestrator.run(saga, ORDER, { sagaId: 'o-7' }));
    await expect(orchestrator.skip('o-7', 'confirm')).rejects.toSatisfy(isSagaStateError);
    const done = await orchestrator.skip('o-7', 'reserve');
    expect(done.status).toBe('compensated');
    expect(trail(await log.read('o-7'))).toContain('compensation_skipped:reserve');
  });

  it('retryIf stops retries for errors that will not heal', async () => {
    const { orchestrator, clock } = rig();
    let calls = 0;
    const saga = defineSaga('declines')
      .pivot('charge', {
        run: () => {
          calls++;
          throw new ServiceError('E_CARD_DECLINED');
        },
        retry: {
          maxAttempts: 5,
          retryIf: (error) => !(error instanceof ServiceError && error.code === 'E_CARD_DECLINED'),
        },
      })
      .build();
    const result = await drain(clock, orchestrator.run(saga, undefined, { sagaId: 'x' }));
    expect(result.status).toBe('compensated');
    expect(calls).toBe(1);
  });

  it('a step that times out is aborted with SagaStepTimeoutError and retried', async () => {
    const { orchestrator, clock } = rig();
    const reasons: unknown[] = [];
    const saga = defineSaga('slow')
      .pivot('call', {
        run: ({ signal, attempt }) =>
          new Promise<string>((resolve) => {
            if (attempt === 2) resolve('fast enough');
            signal.addEventListener('abort', () => reasons.push(signal.reason));
          }),
        timeout: 1_000,
        retry: { maxAttempts: 2, backoff: { initial: 10, jitter: 'none' } },
      })
      .build();
    const result = await drain(clock, orchestrator.run(saga, undefined, { sagaId: 't' }));
    expect(result).toMatchObject({ status: 'completed', outputs: { call: 'fast enough' } });
    expect(reasons).toHaveLength(1);
    expect(isSagaStepTimeoutError(reasons[0])).toBe(true);
  });

  it('a non-JSON output fails the step with SagaOutputNotSerializableError and writes no bad record', async () => {
    const { orchestrator, log } = rig();
    const undone: boolean[] = [];
    const saga = defineSaga('dates')
      .step('stamp', {
        run: () => ({ at: new Date(0) }),
        compensate: ({ completed }) => void undone.push(completed),
      })
      .build();
    const result = await orchestrator.run(saga, undefined, { sagaId: 'd' });
    expect(result.status).toBe('compensated');
    if (result.status !== 'compensated') return;
    expect(isSagaOutputNotSerializableError(result.error)).toBe(true);
    expect(undone).toEqual([false]);
    expect((await log.read('d')).some((r) => r.type === 'step_completed')).toBe(false);
  });

  it('step names that are also Object.prototype names stay ordinary outputs', async () => {
    const { orchestrator } = rig();
    const seen: unknown[] = [];
    const saga = defineSaga('names')
      .step('constructor', { run: () => ({ id: 1 }), compensate: () => {} })
      .step('toString', {
        run: ({ outputs }) => {
          seen.push(outputs.constructor, Object.keys(outputs));
          return 'ok';
        },
        compensate: () => {},
      })
      .build();
    const result = await orchestrator.run(saga, undefined, { sagaId: 'proto' });
    expect(result).toMatchObject({ status: 'completed', outputs: { constructor: { id: 1 }, toString: 'ok' } });
    expect(seen).toEqual([{ id: 1 }, ['constructor']]);
  });

  it('rejects a non-JSON input and a taken saga id before writing anything', async () => {
    const { orchestrator, log } = rig();
    const saga = defineSaga<{ when: Date }>('bad-input')
      .step('a', { run: () => 1, compensate: () => {} })
      .build();
    await expect(orchestrator.run(saga, { when: new Date() }, { sagaId: 'b' })).rejects.toSatisfy(isValidationError);
    expect(await log.read('b')).toEqual([]);
    const ok = defineSaga('ok')
      .step('a', { run: () => 1, compensate: () => {} })
      .build();
    await orchestrator.run(ok, undefined, { sagaId: 'taken' });
    await expect(orchestrator.run(ok, undefined, { sagaId: 'taken' })).rejects.toSatisfy(isSagaAlreadyExistsError);
    expect(await log.read('taken')).toHaveLength(4);
  });

  it('an aborted run stops writing, rejects with the reason and leaves the saga to recover()', async () => {
    const { orchestrator, log } = rig();
    const controller = new AbortController();
    const effects: string[] = [];
    const gate = deferred();
    const saga = defineSaga('abortable')
      .step('a', {
        run: async () => {
          effects.push('a');
          controller.abort();
          await gate.promise;
        },
        compensate: () => {},
      })
      .step('b', { run: () => void effects.push('b'), compensate: () => {} })
      .build();
    const run = orchestrator.run(saga, undefined, { sagaId: 'ab', signal: controller.signal });
    await Promise.resolve();
    gate.resolve();
    await expect(run).rejects.toSatisfy(isAbortedError);
    expect(trail(await log.read('ab'))).toEqual(['saga_started', 'step_started:a']);
    const report = await orchestrator.recover();
    expect(report.results).toMatchObject([{ sagaId: 'ab', status: 'completed' }]);
    expect(effects).toEqual(['a', 'a', 'b']);
  });

  it('emits typed events per transition, once durable; disposed listeners stop', async () => {
    const { orchestrator } = rig();
    const seen: string[] = [];
    const subs = [
      orchestrator.onSagaStarted((e) => seen.push(`started ${e.saga}`)),
      orchestrator.onStepStarted((e) => seen.push(`step ${e.step} #${e.attempt}`)),
      orchestrator.onStepCompleted((e) => seen.push(`done ${e.step}`)),
      orchestrator.onStepFailed((e) => seen.push(`failed ${e.step} ${e.error.code}`)),
      orchestrator.onSagaCompensating((e) => seen.push(`compensating after ${e.step}`)),
      orchestrator.onCompensationStarted((e) => seen.push(`undo ${e.step}`)),
      orchestrator.onCompensationCompleted((e) => seen.push(`undone ${e.step}`)),
      orchestrator.onSagaCompensated((e) => seen.push(`compensated ${e.step}`)),
      orchestrator.onSagaCompleted(() => seen.push('completed')),
    ];
    let decline = true;
    const saga = checkout([], {
      charge: () => {
        if (decline) throw new ServiceError('E_CARD_DECLINED');
      },
    });
    await orchestrator.run(saga, ORDER, { sagaId: 'e' });
    expect(seen).toEqual([
      'started checkout',
      'step reserve #1',
      'done reserve',
      'step charge #1',
      'failed charge E_CARD_DECLINED',
      'compensating after charge',
      'undo charge',
      'undone charge',
      'undo reserve',
      'undone reserve',
      'compensated charge',
    ]);
    for (const s of subs) s.dispose();
    seen.length = 0;
    decline = false;
    await orchestrator.run(saga, ORDER, { sagaId: 'e2' });
    expect(seen).toEqual([]);
  });
});

describe('parallel groups', () => {
  it('run concurrently, see only the outputs from before the group, and feed later steps', async () => {
    const { orchestrator } = rig();
    const gateA = deferred();
    const gateB = deferred();
    const started: string[] = [];
    const seenBy: Record<string, string[]> = {};
    const saga = defineSaga('fan-out')
      .step('first', { run: () => ({ n: 1 }), compensate: () => {} })
      .parallel((g) =>
        g
          .step('a', {
            run: async ({ outputs }) => {
              started.push('a');
              seenBy.a = Object.keys(outputs);
              await gateA.promise;
              return { a: outputs.first.n + 1 };
            },
            compensate: () => {},
          })
          .step('b', {
            run: async ({ outputs }) => {
              started.push('b');
              seenBy.b = Object.keys(outputs);
              await gateB.promise;
              return { b: outputs.first.n + 2 };
            },
            compensate: () => {},
          }),
      )
      .step('join', {
        run: ({ outputs }) => {
          seenBy.join = Object.keys(outputs);
          return outputs.a.a + outputs.b.b;
        },
        compensate: () => {},
      })
      .build();
    const run = orchestrator.run(saga, undefined, { sagaId: 'p' });
    for (let i = 0; i < 20 && started.length < 2; i++) await Promise.resolve();
    expect(started.sort()).toEqual(['a', 'b']);
    gateB.resolve();
    gateA.resolve();
    const result = await run;
    expect(result).toMatchObject({ status: 'completed', outputs: { join: 5 } });
    expect(seenBy).toEqual({ a: ['first'], b: ['first'], join: ['first', 'a', 'b'] });
  });

  it('a failing member waits for its siblings, then everything started is compensated newest first', async () => {
    const { orchestrator, log } = rig();
    const gate = deferred();
    const undone: string[] = [];
    const saga = defineSaga('fan-out-fails')
      .step('first', { run: () => 1, compensate: () => void undone.push('first') })
      .parallel((g) =>
        g
          .step('slow', {
            run: async () => {
              await gate.promise;
              return 'slow done';
            },
            compensate: (c) => void undone.push(`slow ${c.completed ? c.output : '?'}`),
          })
          .step('broken', {
            run: () => {
              throw new Error('broken');
            },
            compensate: (c) => void undone.push(`broken ${c.completed}`),
          })
          .step('quick', { run: () => 'quick done', compensate: (c) => void undone.push(`quick ${c.output}`) }),
      )
      .step('never', { run: () => 0, compensate: () => void undone.push('never') })
      .build();
    const run = orchestrator.run(saga, undefined, { sagaId: 'pf' });
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(undone).toEqual([]); // waiting for 'slow'
    gate.resolve();
    const result = await run;
    expect(result).toMatchObject({ status: 'compensated', failedStep: 'broken' });
    expect(undone).toEqual(['slow slow done', 'quick quick done', 'broken false', 'first']);
    expect(await orchestrator.verifyLog('pf')).toMatchObject({ ok: true });
    expect((await log.read('pf')).map((r) => r.seq)).toEqual([...Array(19).keys()]);
  });
});

describe('leases', () => {
  it('two orchestrators recovering one log never drive the same saga twice', async () => {
    const clock = new ManualClock();
    const log = new MemorySagaLog({ clock });
    const runs = new Map<string, number>();
    const saga = defineSaga<{ n: number }>('count')
      .step('a', {
        run: async ({ sagaId }) => {
          runs.set(sagaId, (runs.get(sagaId) ?? 0) + 1);
          await Promise.resolve();
        },
        compensate: () => {},
      })
      .build();
    // 20 sagas whose process died right after starting them.
    for (let i = 0; i < 20; i++) {
      await log.append([
        {
          sagaId: `s-${i}`,
          seq: 0,
          at: 0,
          owner: 'crashed',
          type: 'saga_started',
          saga: 'count',
          steps: ['a'],
          input: { n: i },
        },
      ]);
    }
    const a = new SagaOrchestrator({ log, clock, owner: 'A', sagas: [saga] });
    const b = new SagaOrchestrator({ log, clock, owner: 'B', sagas: [saga] });
    const [ra, rb] = await Promise.all([a.recover({ concurrency: 3 }), b.recover({ concurrency: 5 })]);
    expect(ra.results.length + rb.results.length).toBe(20);
    expect(ra.failed).toEqual([]);
    expect(rb.failed).toEqual([]);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(runs.size).toBe(20);
    const skipped = [...ra.skipped, ...rb.skipped];
    expect(skipped.every((s) => s.reason === 'claimed' || s.reason === 'finished')).toBe(true);
    expect(skipped).toHaveLength(20);
  });

  it("run refuses a saga another owner holds; a crashed owner's lease expires and the saga is taken over", async () => {
    const clock = new ManualClock();
    const log = new MemorySagaLog({ clock });
    const effects: string[] = [];
    const hang = deferred<{ chargeId: string }>();
    const saga = defineSaga('take-over')
      .step('charge', {
        run: ({ idempotencyKey }) => {
          effects.push(idempotencyKey);
          return effects.length === 1 ? hang.promise : { chargeId: 'ch-1' };
        },
        compensate: () => {},
      })
      .pivot('confirm', { run: () => void effects.push('confirm') })
      .build();
    // "Process A" drives on its own frozen clock: no lease renewal, as if it had died mid-step.
    const a = new SagaOrchestrator({ log, clock: new ManualClock(), owner: 'A', leaseMs: 5_000 });
    const runA = a.run(saga, undefined, { sagaId: 'o' });
    for (let i = 0; i < 10; i++) await Promise.resolve();
    const b = new SagaOrchestrator({ log, clock, owner: 'B', sagas: [saga], leaseMs: 5_000 });
    await expect(b.resume('o')).rejects.toSatisfy(isSagaLeaseError);
    expect((await b.recover()).skipped).toEqual([{ sagaId: 'o', reason: 'claimed' }]);
    clock.advance(5_001);
    const report = await b.recover();
    expect(report.results).toMatchObject([{ sagaId: 'o', status: 'completed' }]);
    expect(effects).toEqual(['o:charge', 'o:charge', 'confirm']);
    // A wakes up: its write loses the optimistic-concurrency race and it stops.
    hang.resolve({ chargeId: 'ch-1' });
    await expect(runA).rejects.toSatisfy(isSagaLogConflictError);
    expect(effects).toEqual(['o:charge', 'o:charge', 'confirm']);
    expect(await b.verifyLog('o')).toMatchObject({ ok: true });
  });

  it('a driver renews its lease while a long step runs', async () => {
    const clock = new ManualClock();
    const log = new MemorySagaLog({ clock });
    const gate = deferred();
    const saga = defineSaga('long')
      .step('wait', { run: () => gate.promise, compensate: () => {} })
      .build();
    const a = new SagaOrchestrator({ log, clock, owner: 'A', leaseMs: 3_000 });
    const run = a.run(saga, undefined, { sagaId: 'l' });
    await clock.advanceAsync(10_000);
    expect((await log.claim('l', 'B', 3_000)).acquired).toBe(false);
    gate.resolve();
    expect((await run).status).toBe('completed');
    expect((await log.claim('l', 'B', 3_000)).acquired).toBe(true);
  });
});

describe('recover, resume, status and verifyLog', () => {
  it('recover() refuses unknown definitions before driving anything', async () => {
    const { log, clock } = rig();
    const saga = defineSaga('known')
      .step('a', { run: () => 1, compensate: () => {} })
      .build();
    await log.append([{ sagaId: 'u', seq: 0, at: 0, owner: 'x', type: 'saga_started', saga: 'mystery', steps: ['a'] }]);
    await log.append([{ sagaId: 'k', seq: 0, at: 0, owner: 'x', type: 'saga_started', saga: 'known', steps: ['a'] }]);
    const orchestrator = new SagaOrchestrator({ log, clock, sagas: [saga] });
    const error: unknown = await orchestrator.recover().catch((e: unknown) => e);
    expect(isSagaNotRegisteredError(error)).toBe(true);
    if (isSagaNotRegisteredError(error)) {
      expect(error.sagaNames).toEqual(['mystery']);
      expect(error.sagaIds).toEqual(['u']);
    }
    expect(await log.read('k')).toHaveLength(1);
    await expect(orchestrator.resume('u')).rejects.toSatisfy(isSagaNotRegisteredError);
    await expect(orchestrator.resume('nobody')).rejects.toSatisfy(isSagaNotFoundError);
  });

  it('a saga started with other steps than the registered definition is reported, not driven', async () => {
    const { log, clock } = rig();
    const v2 = defineSaga('checkout')
      .step('reserve', { run: () => 1, compensate: () => {} })
      .step('charge', { run: () => 1, compensate: () => {} })
      .build();
    await log.append([
      {
        sagaId: 'old',
        seq: 0,
        at: 0,
        owner: 'x',
        type: 'saga_started',
        saga: 'checkout',
        steps: ['pay'],
      },
    ]);
    const orchestrator = new SagaOrchestrator({ log, clock, sagas: [v2] });
    const report = await orchestrator.recover();
    expect(report.failed).toHaveLength(1);
    expect(isSagaDefinitionMismatchError(report.failed[0]?.error)).toBe(true);
    expect(await log.read('old')).toHaveLength(1);
  });

  it('a saga whose records were tampered with is not driven', async () => {
    const clock = new ManualClock();
    const inner = new MemorySagaLog({ clock });
    const log = tamperable(inner, (records) =>
      records.map((r, i) =>
        i === 1 && r.type === 'step_completed' ? ({ ...r, output: { amount: 1 } } as SagaRecord) : r,
      ),
    );
    const calls: string[] = [];
    const saga = defineSaga('t')
      .step('a', { run: () => ({ amount: 999 }), compensate: () => {} })
      .step('b', { run: () => void calls.push('b'), compensate: () => {} })
      .build();
    await inner.append([
      { sagaId: 'x', seq: 0, at: 0, owner: 'o', type: 'saga_started', saga: 't', steps: ['a', 'b'] },
    ]);
    await inner.append([
      {
        sagaId: 'x',
        seq: 1,
        at: 0,
        owner: 'o',
        type: 'step_completed',
        step: 'a',
        output: { amount: 999 },
      },
    ]);
    const orchestrator = new SagaOrchestrator({ log, clock, sagas: [saga] });
    const report = await orchestrator.recover();
    expect(isSagaLogCorruptError(report.failed[0]?.error)).toBe(true);
    expect(calls).toEqual([]);
    expect(await orchestrator.verifyLog('x')).toMatchObject({ ok: false, index: 1, problem: 'edited' });
  });

  it('results rebuilt from the log carry a SagaRecordedError with the recorded failure', async () => {
    const { orchestrator, log, clock } = rig();
    const saga = checkout([], {
      charge: () => {
        throw new ServiceError('E_CARD_DECLINED', 'declined');
      },
    });
    await orchestrator.run(saga, ORDER, { sagaId: 'r' });
    const fresh = new SagaOrchestrator({ log, clock, sagas: [saga] });
    const result = await fresh.resume('r');
    expect(result.status).toBe('compensated');
    if (result.status !== 'compensated') return;
    expect(isSagaRecordedError(result.error)).toBe(true);
    if (isSagaRecordedError(result.error)) {
      expect([result.error.step, result.error.originalCode, result.error.message]).toEqual([
        'charge',
        'E_CARD_DECLINED',
        'declined',
      ]);
    }
  });

  it('status() describes each step as the log tells it', async () => {
    const { orchestrator } = rig();
    const saga = checkout([], {
      charge: () => {
        throw new ServiceError('E_CARD_DECLINED');
      },
    });
    await orchestrator.run(saga, ORDER, { sagaId: 's' });
    const status = await orchestrator.status('s');
    expect(status).toMatchObject({ status: 'compensated', failedStep: 'charge', input: ORDER, version: 11 });
    expect(status.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
      'reserve:compensated',
      'charge:compensated',
      'confirm:pending',
      'ship:pending',
      'notify:pending',
    ]);
    await expect(orchestrator.status('nope')).rejects.toSatisfy(isSagaNotFoundError);
  });
});

describe('validation', () => {
  it('rejects bad orchestrator options naming them', () => {
    const log = new MemorySagaLog();
    const bad: [unknown, string][] = [
      [undefined, 'options'],
      [{}, 'options.log'],
      [{ log: {} }, 'options.log'],
      [{ log, owner: '' }, 'options.owner'],
      [{ log, leaseMs: 0 }, 'options.leaseMs'],
      [{ log, clock: 5 }, 'options.clock'],
      [{ log, sagas: [{}] }, 'options.sagas[0]'],
      [{ log, timestamp: 'now' }, 'options.timestamp'],
    ];
    for (const [options, argument] of bad) {
      let error: unknown;
      try {
        new SagaOrchestrator(options as never);
      } catch (e: unknown) {
        error = e;
      }
      expect(isValidationError(error) && error.argument).toBe(argument);
    }
  });

  it('two definitions with one name cannot meet in one orchestrator', async () => {
    const one = defineSaga('same')
      .step('a', { run: () => 1, compensate: () => {} })
      .build();
    const two = defineSaga('same')
      .step('b', { run: () => 1, compensate: () => {} })
      .build();
    expect(() => new SagaOrchestrator({ log: new MemorySagaLog(), sagas: [one, two] })).toThrow(/given twice/);
    const orchestrator = new SagaOrchestrator({ log: new MemorySagaLog(), sagas: [one] });
    await expect(orchestrator.run(two, undefined)).rejects.toSatisfy(isValidationError);
  });
});
