/**
 * The breaker runs calls itself and records them in opossum's window: successes straight into the
 * current bucket, failures replayed through opossum's `fire` so that opossum counts them and applies its
 * trip rule. These tests pin that opossum still decides: the same counts and the same trip, call for call,
 * as a lean opossum running the same calls through `fire` itself.
 */
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import Opossum from 'opossum';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import { CircuitBreaker } from '../../src/resilience/index.js';
import { type Deferred, deferred, flush, settle } from './helpers.js';

describe('CircuitBreaker: the window counts calls as opossum does', () => {
  it('a running call counts as a call; once settled it counts once, with its outcome', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, minimumCalls: 100 });
    const ok = deferred<string>();
    const bad = deferred<string>();
    const first = b.execute(() => ok.promise);
    const second = settle(b.execute(() => bad.promise));
    expect(b.stats().window).toEqual({ calls: 2, successes: 0, failures: 0, failureRate: 0 });
    ok.resolve('fine');
    expect(await first).toBe('fine');
    expect(b.stats().window).toEqual({ calls: 2, successes: 1, failures: 0, failureRate: 0 });
    bad.reject(new Error('down'));
    await second;
    expect(b.stats().window).toEqual({ calls: 2, successes: 1, failures: 1, failureRate: 50 });
    expect(b.toJSON()).toEqual({ version: 1, state: 'closed', window: { calls: 2, successes: 1, failures: 1 } });
    b.dispose();
  });

  it('a settled call ages out with the bucket it settled in; a running one stays until it settles', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, window: 1_000, buckets: 4, minimumCalls: 100 });
    const long = deferred<string>();
    const running = b.execute(() => long.promise);
    await b.execute(() => 'quick'); // settles in the bucket of t = 0
    clock.advance(750);
    expect(b.stats().window).toMatchObject({ calls: 2, successes: 1 });
    clock.advance(250); // t = 1 000: the bucket of t = 0 has rotated out
    expect(b.stats().window).toMatchObject({ calls: 1, successes: 0 });
    long.resolve('slow');
    expect(await running).toBe('slow'); // settles in the bucket of t = 1 000
    expect(b.stats().window).toMatchObject({ calls: 1, successes: 1 });
    clock.advance(999);
    expect(b.stats().window).toMatchObject({ calls: 1, successes: 1 });
    clock.advance(1);
    expect(b.stats().window).toMatchObject({ calls: 0, successes: 0 });
    b.dispose();
  });

  it('opossum has counted a failure and tripped before the caller sees the error', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, minimumCalls: 2, failureThreshold: 50 });
    await b.execute(() => 'ok');
    const seen: string[] = [];
    await b
      .execute(() => Promise.reject(new Error('one')))
      .catch(() => {
        seen.push(b.state);
      });
    await b
      .execute(() => Promise.reject(new Error('two')))
      .catch(() => {
        seen.push(b.state);
      });
    expect(seen).toEqual(['closed', 'open']); // 1 of 2 is not above 50 %; 2 of 3 is
    b.dispose();
  });

  it('counts running calls in the rate, as opossum does: slow successes keep a failure below the threshold', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, minimumCalls: 2, failureThreshold: 50 });
    const slow = [deferred<string>(), deferred<string>()];
    const running = slow.map((d) => b.execute(() => d.promise));
    await settle(b.execute(() => Promise.reject(new Error('down'))));
    expect(b.state).toBe('closed'); // 1 failure in 3 calls
    await settle(b.execute(() => Promise.reject(new Error('down again'))));
    expect(b.state).toBe('closed'); // 2 in 4: not strictly above 50 %
    await settle(b.execute(() => Promise.reject(new Error('and again'))));
    expect(b.state).toBe('open'); // 3 in 5
    for (const d of slow) d.resolve('late');
    await Promise.all(running);
    expect(b.state).toBe('open');
    b.dispose();
  });
});

type Op = { readonly kind: 'start' } | { readonly kind: 'settle'; readonly pick: number; readonly fail: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: 'start' }),
  fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), fail: fc.boolean() }),
);

describe('CircuitBreaker against opossum running the calls itself', () => {
  it('same counts and the same trip, step by step, for any interleaving of starts and outcomes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(op, { minLength: 1, maxLength: 40 }),
        async (threshold, minimumCalls, ops) => {
          const ours = new CircuitBreaker({
            clock: new ManualClock(),
            failureThreshold: threshold,
            minimumCalls,
            resetAfter: 1e9,
          });
          const reference = new Opossum((work: Promise<string>) => work, {
            timeout: false,
            errorThresholdPercentage: threshold,
            volumeThreshold: minimumCalls,
            allowWarmUp: false,
            rollingPercentilesEnabled: false,
            enableSnapshots: false,
            rotateBucketController: new EventEmitter(),
            resetTimeout: 1e9,
          });
          const running: { ours: Deferred<string>; reference: Deferred<string> }[] = [];
          const settled: Promise<unknown>[] = [];
          for (const step of ops) {
            if (step.kind === 'start') {
              const pair = { ours: deferred<string>(), reference: deferred<string>() };
              running.push(pair);
              settled.push(settle(ours.execute(() => pair.ours.promise)));
              settled.push(settle(reference.fire(pair.reference.promise)));
            } else if (running.length > 0) {
              const [pair] = running.splice(step.pick % running.length, 1);
              if (pair === undefined) throw new Error('no call');
              if (step.fail) {
                pair.ours.reject(new Error('down'));
                pair.reference.reject(new Error('down'));
              } else {
                pair.ours.resolve('up');
                pair.reference.resolve('up');
              }
            }
            await flush();
            expect(ours.state === 'open').toBe(reference.opened);
            if (reference.opened) break;
            const { fires, successes, failures } = reference.stats;
            expect(ours.stats().window).toMatchObject({ calls: fires, successes, failures });
          }
          for (const pair of running) {
            pair.ours.resolve('end');
            pair.reference.resolve('end');
          }
          await Promise.all(settled);
          ours.dispose();
          reference.shutdown();
        },
      ),
      { numRuns: 200 },
    );
  });
});
