/**
 * Model-based tests: random saga shapes with scripted failures, checked against what the semantics say
 * must happen; and `fc.scheduler` interleavings of parallel groups.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import {
  defineSaga,
  MemorySagaLog,
  type SagaBuilder,
  type SagaForwardBuilder,
  SagaOrchestrator,
  type SagaRecord,
  type SagaStepKind,
} from '../../src/saga/index.js';
import { drain } from './helpers.js';

interface Script {
  readonly name: string;
  readonly kind: SagaStepKind;
  /** Attempts that fail before one succeeds. */
  readonly failures: number;
  readonly maxAttempts: number;
  /** Compensation attempts that fail before one succeeds. */
  readonly compensationFailures: number;
}

const COMPENSATION_ATTEMPTS = 3;

const stepScript = (kind: SagaStepKind) =>
  fc.record({
    kind: fc.constant(kind),
    failures: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 })),
    maxAttempts: fc.integer({ min: 1, max: 3 }),
    compensationFailures: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 })),
  });

const groups = (kind: SagaStepKind, max: number) =>
  fc.array(fc.array(stepScript(kind), { minLength: 1, maxLength: 3 }), { minLength: 0, maxLength: max });

const shape = fc
  .tuple(groups('compensatable', 3), fc.option(stepScript('pivot'), { nil: undefined }), groups('retriable', 2))
  .filter(
    ([before, pivot, after]) =>
      before.length + after.length + (pivot ? 1 : 0) > 0 && (pivot !== undefined || after.length === 0),
  )
  .map(([before, pivot, after]) => {
    let n = 0;
    const named = (g: Omit<Script, 'name'>[]): Script[] => g.map((s) => ({ ...s, name: `s${n++}` }));
    return {
      before: before.map(named),
      pivot: pivot === undefined ? undefined : (named([pivot])[0] as Script),
      after: after.map(named),
    };
  });

type Shape = { before: Script[][]; pivot: Script | undefined; after: Script[][] };

interface Observed {
  runs: Map<string, string[]>;
  compensations: string[];
}

function build(s: Shape, observed: Observed) {
  const attempts = new Map<string, number>();
  const compensationAttempts = new Map<string, number>();
  const run = (script: Script) => ({
    run: ({ idempotencyKey }: { idempotencyKey: string }) => {
      const list = observed.runs.get(script.name) ?? [];
      list.push(idempotencyKey);
      observed.runs.set(script.name, list);
      const n = (attempts.get(script.name) ?? 0) + 1;
      attempts.set(script.name, n);
      if (n <= script.failures) throw new Error(`${script.name} attempt ${n} fails`);
      return { step: script.name };
    },
    retry: { maxAttempts: script.maxAttempts, backoff: { initial: 5, max: 5, jitter: 'none' as const } },
  });
  const compensate = (script: Script) => () => {
    const n = (compensationAttempts.get(script.name) ?? 0) + 1;
    compensationAttempts.set(script.name, n);
    if (n <= script.compensationFailures) throw new Error(`undo ${script.name} attempt ${n} fails`);
    observed.compensations.push(script.name);
  };
  let b = defineSaga(`model`, {
    compensationRetry: { maxAttempts: COMPENSATION_ATTEMPTS, backoff: { initial: 5, max: 5, jitter: 'none' } },
  }) as unknown as SagaBuilder<void, Record<string, unknown>>;
  for (const g of s.before) {
    b = b.parallel((group) => {
      let acc = group as unknown as { step(n: string, d: object): typeof acc };
      for (const script of g) acc = acc.step(script.name, { ...run(script), compensate: compensate(script) });
      return acc as never;
    }) as never;
  }
  if (s.pivot === undefined) return b.build();
  let a = (b as unknown as { pivot(n: string, d: object): unknown }).pivot(
    s.pivot.name,
    run(s.pivot),
  ) as SagaForwardBuilder<void, Record<string, unknown>>;
  for (const g of s.after) {
    a = a.parallel((group) => {
      let acc = group as unknown as { step(n: string, d: object): typeof acc };
      for (const script of g) acc = acc.step(script.name, run(script));
      return acc as never;
    }) as never;
  }
  return a.build();
}

const succeeds = (s: Script): boolean => s.failures < s.maxAttempts;

describe('saga semantics (model-based)', () => {
  it('ends as the model says, compensates exactly the started steps newest first, never past the pivot', async () => {
    await fc.assert(
      fc.asyncProperty(shape, async (s) => {
        const clock = new ManualClock();
        const log = new MemorySagaLog({ clock });
        const orchestrator = new SagaOrchestrator({ log, clock, owner: 'model' });
        const observed: Observed = { runs: new Map(), compensations: [] };
        const result = await drain(clock, orchestrator.run(build(s, observed), undefined, { sagaId: 'm' }), 50);
        const records = await log.read('m');
        expect(await orchestrator.verifyLog('m')).toMatchObject({ ok: true });

        // Every call of a step used the same, stable idempotency key.
        for (const [name, keys] of observed.runs) expect(new Set(keys)).toEqual(new Set([`m:${name}`]));

        // The model: walk the groups forward until one has a step that gives up.
        const forward = [...s.before, ...(s.pivot ? [[s.pivot]] : []), ...s.after];
        let failedGroup = -1;
        for (const [i, g] of forward.entries()) {
          for (const script of g) {
            expect(observed.runs.get(script.name)?.length).toBe(Math.min(script.failures + 1, script.maxAttempts));
          }
          if (!g.every(succeeds)) {
            failedGroup = i;
            break;
          }
        }
        const ran = new Set(
          forward
            .slice(0, failedGroup === -1 ? undefined : failedGroup + 1)
            .flat()
            .map((x) => x.name),
        );
        expect(new Set(observed.runs.keys())).toEqual(ran);

        if (failedGroup === -1) {
          expect(result.status).toBe('completed');
          expect(observed.compensations).toEqual([]);
          return;
        }
        const failedScript = (forward[failedGroup] as Script[]).find((x) => !succeeds(x)) as Script;
        if (failedScript.kind === 'retriable') {
          expect(result).toMatchObject({ status: 'needs_intervention', phase: 'forward' });
          expect(observed.compensations).toEqual([]);
          return;
        }
        // Compensation: the started compensatable steps, newest forward record first.
        const lastSeq = new Map<string, number>();
        for (const r of records) {
          if (
            (r.type === 'step_started' || r.type === 'step_completed' || r.type === 'step_failed') &&
            ran.has(r.step)
          ) {
            lastSeq.set(r.step, r.seq);
          }
        }
        const order = s.before
          .flat()
          .filter((x) => ran.has(x.name))
          .sort((a, b) => (lastSeq.get(b.name) ?? 0) - (lastSeq.get(a.name) ?? 0));
        const stuck = order.findIndex((x) => x.compensationFailures >= COMPENSATION_ATTEMPTS);
        if (stuck === -1) {
          expect(result).toMatchObject({ status: 'compensated' });
          expect(observed.compensations).toEqual(order.map((x) => x.name));
        } else {
          expect(result).toMatchObject({
            status: 'needs_intervention',
            phase: 'compensation',
            step: order[stuck]?.name,
          });
          expect(observed.compensations).toEqual(order.slice(0, stuck).map((x) => x.name));
        }
        const pivotOrAfter = new Set([s.pivot?.name, ...s.after.flat().map((x) => x.name)]);
        expect(observed.compensations.some((name) => pivotOrAfter.has(name))).toBe(false);
      }),
      { numRuns: 120 },
    );
  });

  it('parallel members settle in any order; compensation starts after all settle, in reverse completion order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.boolean(), { minLength: 2, maxLength: 4 }),
        async (scheduler, fails) => {
          fc.pre(fails.some((f) => f));
          const log = new MemorySagaLog();
          const orchestrator = new SagaOrchestrator({ log, owner: 'sched' });
          const events: string[] = [];
          const names = fails.map((_, i) => `p${i}`);
          const saga = defineSaga('sched')
            .step('first', { run: () => 'first', compensate: () => void events.push('undo first') })
            .parallel((group) => {
              let g = group as unknown as { step(n: string, d: object): typeof g };
              for (const [i, name] of names.entries()) {
                g = g.step(name, {
                  run: () =>
                    scheduler.schedule(Promise.resolve(name), `settle ${name}`).then(() => {
                      events.push(`settled ${name}`);
                      if (fails[i]) throw new Error(`${name} fails`);
                      return name;
                    }),
                  compensate: () => void events.push(`undo ${name}`),
                });
              }
              return g as never;
            })
            .build();
          const run = orchestrator.run(saga, undefined, { sagaId: 'q' });
          await scheduler.waitFor(run);
          const result = await run;
          expect(result.status).toBe('compensated');
          const firstUndo = events.findIndex((e) => e.startsWith('undo'));
          expect(events.slice(0, firstUndo).filter((e) => e.startsWith('settled'))).toHaveLength(names.length);
          const records = await log.read('q');
          const settledOrder = records
            .filter(
              (r): r is Extract<SagaRecord, { step: string }> =>
                r.type === 'step_completed' || r.type === 'step_failed',
            )
            .map((r) => r.step)
            .filter((step) => step !== 'first');
          expect(events.slice(firstUndo)).toEqual([...settledOrder.reverse().map((n) => `undo ${n}`), 'undo first']);
          const failedFirst = records.find((r) => r.type === 'saga_compensating');
          expect(failedFirst && 'step' in failedFirst && fails[names.indexOf(failedFirst.step)]).toBe(true);
          expect(await orchestrator.verifyLog('q')).toMatchObject({ ok: true });
        },
      ),
      { numRuns: 60 },
    );
  });
});
