/**
 * Model-based tests of the breaker: a sequential model of opossum's rule (strictly above the threshold,
 * minimum calls, rolling buckets) plus the clock-driven open period, checked command by command; and
 * random interleavings of concurrent calls (fast-check's scheduler) checked against invariants.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import {
  BulkheadRejectedError,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
} from '../../src/resilience/index.js';

type Outcome = 'ok' | 'fail' | 'ignored' | 'capacity';

interface Config {
  readonly bucketMs: number;
  readonly buckets: number;
  readonly threshold: number;
  readonly minimumCalls: number;
  readonly initial: number;
  readonly max: number;
  readonly multiplier: number;
}

interface Model {
  now: number;
  kind: 'closed' | 'open' | 'halfOpen' | 'isolated';
  consecutiveOpens: number;
  halfOpenAt: number;
  spawnAt: number;
  events: { bucket: number; failure: boolean }[];
}

interface Real {
  breaker: CircuitBreaker;
  readonly clock: ManualClock;
  readonly config: Config;
}

class IgnoredError extends Error {}

function optionsOf(config: Config, clock: ManualClock): CircuitBreakerOptions {
  return {
    clock,
    window: config.bucketMs * config.buckets,
    buckets: config.buckets,
    failureThreshold: config.threshold,
    minimumCalls: config.minimumCalls,
    resetAfter: { initial: config.initial, max: config.max, multiplier: config.multiplier },
    isFailure: (e) => !(e instanceof IgnoredError),
  };
}

function currentBucket(m: Model, c: Config): number {
  return Math.floor((m.now - m.spawnAt) / c.bucketMs);
}

function windowOf(m: Model, c: Config): { calls: number; failures: number } {
  const current = currentBucket(m, c);
  const live = m.events.filter((e) => current - e.bucket < c.buckets);
  return { calls: live.length, failures: live.filter((e) => e.failure).length };
}

function openModel(m: Model, c: Config): void {
  m.consecutiveOpens++;
  m.kind = 'open';
  m.halfOpenAt = m.now + Math.min(c.max, c.initial * c.multiplier ** (m.consecutiveOpens - 1));
}

function closeModel(m: Model): void {
  m.kind = 'closed';
  m.consecutiveOpens = 0;
  m.spawnAt = m.now;
  m.events = [];
}

function publicState(m: Model): CircuitState {
  return m.kind === 'isolated' ? 'open' : m.kind;
}

async function check(m: Model, r: Real): Promise<void> {
  const stats = r.breaker.stats();
  expect(stats.state).toBe(publicState(m));
  expect(stats.consecutiveOpens).toBe(m.consecutiveOpens);
  if (m.kind === 'closed') {
    const w = windowOf(m, r.config);
    expect({ calls: stats.window.calls, failures: stats.window.failures }).toEqual(w);
  }
  if (m.kind === 'open') expect(stats.retryAfterMs).toBe(m.halfOpenAt - m.now);
}

class CallCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly outcome: Outcome) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    if (m.kind === 'open' && m.now >= m.halfOpenAt) m.kind = 'halfOpen';
    let called = false;
    const outcome = this.outcome;
    await r.breaker
      .execute(() => {
        called = true;
        if (outcome === 'ok') return 'ok';
        if (outcome === 'fail') throw new Error('fail');
        if (outcome === 'ignored') throw new IgnoredError('ignored');
        throw new BulkheadRejectedError({ concurrency: 1, maxQueue: 0 });
      })
      .catch(() => undefined);
    const c = r.config;
    switch (m.kind) {
      case 'closed': {
        expect(called).toBe(true);
        m.events.push({ bucket: currentBucket(m, c), failure: outcome === 'fail' });
        if (outcome === 'fail') {
          const w = windowOf(m, c);
          if (w.calls >= c.minimumCalls && (w.failures / w.calls) * 100 > c.threshold) openModel(m, c);
        }
        break;
      }
      case 'halfOpen':
        expect(called).toBe(true);
        if (outcome === 'fail') openModel(m, c);
        else if (outcome !== 'capacity') closeModel(m);
        break;
      default:
        expect(called).toBe(false);
    }
    await check(m, r);
  }
  toString(): string {
    return `call(${this.outcome})`;
  }
}

class AdvanceCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    r.clock.advance(this.ms);
    m.now += this.ms;
    if (m.kind === 'open' && m.now >= m.halfOpenAt) m.kind = 'halfOpen';
    await check(m, r);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

class IsolateCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    r.breaker.isolate();
    if (m.kind === 'open' && m.now >= m.halfOpenAt) m.kind = 'halfOpen';
    m.kind = 'isolated';
    await check(m, r);
  }
  toString(): string {
    return 'isolate';
  }
}

class ResetCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    r.breaker.reset();
    closeModel(m);
    await check(m, r);
  }
  toString(): string {
    return 'reset';
  }
}

/** Restarts the breaker from its JSON snapshot, as a process restart would. */
class RestoreCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const snapshot = JSON.parse(JSON.stringify(r.breaker.toJSON()));
    r.breaker.dispose();
    r.breaker = new CircuitBreaker({ ...optionsOf(r.config, r.clock), initialState: snapshot });
    if (m.kind === 'open' && m.now >= m.halfOpenAt) m.kind = 'halfOpen';
    if (m.kind === 'closed') {
      // The window's counts are restored into the newest bucket of a fresh window.
      const live = windowOf(m, r.config);
      m.spawnAt = m.now;
      m.events = Array.from({ length: live.calls }, (_, i) => ({ bucket: 0, failure: i < live.failures }));
    }
    await check(m, r);
  }
  toString(): string {
    return 'restore';
  }
}

const configArb: fc.Arbitrary<Config> = fc.record({
  bucketMs: fc.constantFrom(10, 25, 100),
  buckets: fc.integer({ min: 1, max: 10 }),
  threshold: fc.constantFrom(0, 25, 50, 75, 99),
  minimumCalls: fc.integer({ min: 0, max: 6 }),
  initial: fc.integer({ min: 1, max: 500 }),
  max: fc.integer({ min: 500, max: 2_000 }),
  multiplier: fc.constantFrom(1, 1.5, 2, 3),
});

const commandsArb = fc.commands(
  [
    fc.constantFrom<Outcome>('ok', 'fail', 'fail', 'ignored', 'capacity').map((o) => new CallCommand(o)),
    fc.integer({ min: 0, max: 1_200 }).map((ms) => new AdvanceCommand(ms)),
    fc.constant(new IsolateCommand()),
    fc.constant(new ResetCommand()),
    fc.constant(new RestoreCommand()),
  ],
  { maxCommands: 60 },
);

describe('CircuitBreaker against a model', () => {
  it('follows the model through random sequences of calls, time, isolate, reset and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, commandsArb, async (config, commands) => {
        const clock = new ManualClock();
        const real: Real = { breaker: new CircuitBreaker(optionsOf(config, clock)), clock, config };
        const model: Model = { now: 0, kind: 'closed', consecutiveOpens: 0, halfOpenAt: 0, spawnAt: 0, events: [] };
        await fc.asyncModelRun(() => ({ model, real }), commands);
        real.breaker.dispose();
      }),
      { numRuns: 150 },
    );
  });
});

describe('CircuitBreaker under concurrent interleavings', () => {
  it('never calls fn while open, admits one probe per half-open period, and ignores stale results', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.record({ fail: fc.boolean(), advance: fc.constantFrom(0, 0, 60) }), {
          minLength: 1,
          maxLength: 25,
        }),
        async (s, plan) => {
          const clock = new ManualClock();
          const b = new CircuitBreaker({ clock, minimumCalls: 2, failureThreshold: 50, resetAfter: 100 });
          const transitions: string[] = ['closed'];
          b.onOpen(() => transitions.push('open'));
          b.onHalfOpen(() => transitions.push('halfOpen'));
          b.onClose(() => transitions.push('closed'));
          let epoch = 0;
          b.onClose(() => {
            epoch++;
          });
          const startedInEpoch: number[] = [];
          let probesThisHalfOpen = 0;
          b.onHalfOpen(() => {
            probesThisHalfOpen = 0;
          });
          const violations: string[] = [];
          const calls: Promise<unknown>[] = [];
          for (const [i, step] of plan.entries()) {
            calls.push(
              s.schedule(Promise.resolve(), `start ${i}`).then(async () => {
                if (step.advance > 0) clock.advance(step.advance);
                const stateAtCall = b.state;
                const epochAtCall = epoch;
                return b
                  .execute(() => {
                    if (stateAtCall === 'open') violations.push(`call ${i} ran while open`);
                    if (stateAtCall === 'halfOpen' && ++probesThisHalfOpen > 1) {
                      violations.push(`second probe ${i}`);
                    }
                    startedInEpoch.push(epochAtCall);
                    return s
                      .schedule(Promise.resolve(), `finish ${i}`)
                      .then(() => (step.fail ? Promise.reject(new Error(`fail ${i}`)) : 'ok'));
                  })
                  .catch(() => undefined);
              }),
            );
          }
          await s.waitFor(Promise.all(calls));
          expect(violations).toEqual([]);
          for (let k = 1; k < transitions.length; k++) {
            const pair = `${transitions[k - 1]}→${transitions[k]}`;
            expect(['closed→open', 'open→halfOpen', 'halfOpen→open', 'halfOpen→closed']).toContain(pair);
          }
          if (b.state === 'closed') {
            // Only calls started in the current closed period (after the probe) are in the window.
            const current = startedInEpoch.filter((e) => e === epoch).length;
            expect(b.stats().window.calls).toBe(current);
          }
          b.dispose();
        },
      ),
      { numRuns: 150 },
    );
  });
});
