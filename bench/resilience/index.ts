/**
 * Resilience benchmark: the breaker's success path against raw opossum (defaults and lean) and cockatiel,
 * a full pipeline (timeout + retry + breaker + bulkhead) against the same peers, each policy alone (where
 * the pipeline's time goes), and the cost of one failure with 1,000 and 16,000 failures in the rolling
 * window.
 */
import {
  circuitBreaker as cockatielBreaker,
  bulkhead as cockatielBulkhead,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  ExponentialBackoff,
  handleAll,
  SamplingBreaker,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import Opossum from 'opossum';
import PQueue from 'p-queue';
import { bulkhead, CircuitBreaker, pipeline, retry, timeout } from '../../src/resilience/index.js';
import { type BenchCase, compare, fmt } from '../lib/harness.js';
import { type Benchmark, type ResultTable, type TargetCheck, target } from '../lib/types.js';

const VALUE = Promise.resolve(1);
const FAILURE = new Error('dependency down');
const ok = (): Promise<number> => VALUE;
const fail = (): Promise<never> => Promise.reject(FAILURE);
const ignore = (): void => {};

/** Lean opossum: no latency percentiles, no snapshot timer (the options the breaker here runs with). */
const LEAN = { rollingPercentilesEnabled: false, enableSnapshots: false } as const;

function nsOf(rows: readonly { name: string; nsPerOp: number }[], name: string): number {
  const row = rows.find((r) => r.name === name);
  if (row === undefined) throw new Error(`no case ${name}`);
  return row.nsPerOp;
}

/** A retry loop as an opossum user writes one: up to 3 attempts, exponential backoff. */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error: unknown) {
      if (attempt >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (attempt - 1)));
    }
  }
}

interface FailureTarget {
  readonly name: string;
  /** Builds a breaker with `n` failures already in its window; returns one failing call and a disposer. */
  readonly prepare: (n: number) => Promise<{ call: () => Promise<unknown>; dispose: () => void }>;
  /** Failing calls timed per round (fewer where a failure costs milliseconds). */
  readonly perRound: (n: number) => number;
}

async function fillWith(call: () => Promise<unknown>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await call().catch(ignore);
}

const NEVER_TRIPS = 100; // strictly above 100 % never happens: the window fills without opening

const failureTargets: readonly FailureTarget[] = [
  {
    name: 'CircuitBreaker (this block)',
    prepare: async (n) => {
      const breaker = new CircuitBreaker({ failureThreshold: NEVER_TRIPS, minimumCalls: 0 });
      const call = (): Promise<unknown> => breaker.execute(fail);
      await fillWith(call, n);
      return { call, dispose: () => breaker.dispose() };
    },
    perRound: () => 200,
  },
  {
    name: 'opossum lean',
    prepare: async (n) => {
      const breaker = new Opossum(fail, { ...LEAN, timeout: false, errorThresholdPercentage: NEVER_TRIPS });
      const call = (): Promise<unknown> => breaker.fire();
      await fillWith(call, n);
      return { call, dispose: () => breaker.shutdown() };
    },
    perRound: () => 200,
  },
  {
    name: 'opossum defaults',
    prepare: async (n) => {
      // Filling 16,000 failures one by one would take minutes (each failure sorts the window's latencies):
      // prime the window with the same counts and latencies instead.
      const status = Opossum.newStatus({
        rollingCountBuckets: 10,
        rollingCountTimeout: 10_000,
        stats: {
          failures: n,
          fires: n,
          successes: 0,
          fallbacks: 0,
          rejects: 0,
          timeouts: 0,
          cacheHits: 0,
          cacheMisses: 0,
          semaphoreRejections: 0,
          percentiles: {},
          latencyTimes: Array.from({ length: n }, (_, i) => i % 7),
          latencyMean: 0,
        },
      });
      const breaker = new Opossum(fail, { status, errorThresholdPercentage: NEVER_TRIPS });
      const call = (): Promise<unknown> => breaker.fire();
      return { call, dispose: () => breaker.shutdown() };
    },
    perRound: (n) => (n > 4_000 ? 16 : 64),
  },
  {
    name: 'cockatiel SamplingBreaker',
    prepare: async (n) => {
      const policy = cockatielBreaker(handleAll, {
        halfOpenAfter: 30_000,
        breaker: new SamplingBreaker({ threshold: 0.999_999, duration: 10_000, minimumRps: 1e9 }),
      });
      const call = (): Promise<unknown> => policy.execute(fail);
      await fillWith(call, n);
      return { call, dispose: ignore };
    },
    perRound: () => 200,
  },
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** ns per failing call with `n` failures already in the window, on a fresh breaker. */
async function failureCost(t: FailureTarget, n: number): Promise<number> {
  const { call, dispose } = await t.prepare(n);
  const k = t.perRound(n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < k; i++) await call().catch(ignore);
  const ns = Number(process.hrtime.bigint() - start) / k;
  dispose();
  return ns;
}

/** Median cost at 1,000 and at 16,000 failures, the two sizes alternating round by round. */
async function failureCosts(t: FailureTarget, rounds: number): Promise<{ at1k: number; at16k: number }> {
  await failureCost(t, 200); // warm-up: JIT, allocation sites
  const at1k: number[] = [];
  const at16k: number[] = [];
  for (let r = 0; r < rounds; r++) {
    at1k.push(await failureCost(t, 1_000));
    at16k.push(await failureCost(t, 16_000));
  }
  return { at1k: median(at1k), at16k: median(at16k) };
}

export const benchmark: Benchmark = {
  name: 'resilience',
  description:
    'Breaker and full-pipeline success path vs opossum (defaults, lean) and cockatiel; failure cost at 1k and 16k failures in the window',
  async run({ quick, log }) {
    const tables: ResultTable[] = [];
    const targets: TargetCheck[] = [];

    // 1. Breaker alone, success path.
    log('breaker success path');
    const ours = new CircuitBreaker();
    const oursTimeout = new CircuitBreaker({ timeout: 10_000 });
    const lean = new Opossum(ok, { ...LEAN, timeout: false });
    const leanTimeout = new Opossum(ok, { ...LEAN, timeout: 10_000 });
    const defaults = new Opossum(ok);
    const cockatiel = cockatielBreaker(handleAll, {
      halfOpenAfter: 30_000,
      breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000 }),
    });
    const breakerCases: BenchCase[] = [
      { name: 'bare call (no breaker)', fn: () => ok() },
      { name: 'CircuitBreaker (this block)', fn: () => ours.execute(ok) },
      { name: 'opossum lean', fn: () => lean.fire() },
      { name: 'opossum defaults', fn: () => defaults.fire() },
      { name: 'cockatiel circuitBreaker', fn: () => cockatiel.execute(ok) },
      { name: 'CircuitBreaker + 10 s timeout', fn: () => oursTimeout.execute(ok) },
      { name: 'opossum lean + 10 s timeout', fn: () => leanTimeout.fire() },
    ];
    const rounds = quick ? 3 : 41; // the machine is shared: more rounds steady the medians
    const breakerRows = await compare(breakerCases, { quick, rounds });
    const leanNs = nsOf(breakerRows, 'opossum lean');
    tables.push({
      title: 'Breaker alone, success path (per call)',
      columns: ['case', 'ns/call', 'calls/s', '× lean opossum', 'spread %'],
      rows: breakerRows.map((r) => [r.name, r.nsPerOp, r.opsPerSec, fmt(r.nsPerOp / leanNs), fmt(r.spreadPct)]),
    });
    targets.push(
      target(
        'breaker success path vs lean opossum (× time per call)',
        nsOf(breakerRows, 'CircuitBreaker (this block)') / leanNs,
        '<=',
        1.3,
      ),
    );
    ours.dispose();
    oursTimeout.dispose();
    lean.shutdown();
    leanTimeout.shutdown();
    defaults.shutdown();

    // 2. Full pipeline: timeout + retry + breaker + bulkhead, success path.
    log('full pipeline success path');
    const full = pipeline(
      bulkhead({ concurrency: 64, maxQueue: 1_024 }),
      retry({ maxAttempts: 3 }),
      new CircuitBreaker(),
      timeout(10_000),
    );
    const fullBuiltInTimeout = pipeline(
      bulkhead({ concurrency: 64, maxQueue: 1_024 }),
      retry({ maxAttempts: 3 }),
      new CircuitBreaker({ timeout: 10_000 }),
    );
    const bareDefaults = new Opossum(ok);
    const opossumForPipeline = new Opossum(ok);
    const queue = new PQueue({ concurrency: 64 });
    const cockatielFull = wrap(
      cockatielBulkhead(64, 1_024),
      cockatielRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
      cockatielBreaker(handleAll, {
        halfOpenAfter: 30_000,
        breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000 }),
      }),
      cockatielTimeout(10_000, TimeoutStrategy.Cooperative),
    );
    const pipelineCases: BenchCase[] = [
      { name: 'pipeline (this block)', fn: () => full.execute(ok) },
      { name: 'pipeline, breaker with its own timeout', fn: () => fullBuiltInTimeout.execute(ok) },
      { name: 'opossum defaults, breaker alone', fn: () => bareDefaults.fire() },
      {
        name: 'p-queue + retry loop + opossum defaults',
        fn: () => queue.add(() => retried(() => opossumForPipeline.fire())),
      },
      { name: 'cockatiel wrap(bulkhead, retry, breaker, timeout)', fn: () => cockatielFull.execute(ok) },
    ];
    const pipelineRows = await compare(pipelineCases, { quick, rounds });
    const defaultsNs = nsOf(pipelineRows, 'opossum defaults, breaker alone');
    const equivalentNs = nsOf(pipelineRows, 'p-queue + retry loop + opossum defaults');
    tables.push({
      title: 'Full pipeline (timeout + retry + breaker + bulkhead), success path (per call)',
      columns: [
        'case',
        'ns/call',
        'calls/s',
        '× same pipeline on opossum defaults',
        '× opossum defaults alone',
        'spread %',
      ],
      rows: pipelineRows.map((r) => [
        r.name,
        r.nsPerOp,
        r.opsPerSec,
        fmt(r.nsPerOp / equivalentNs),
        fmt(r.nsPerOp / defaultsNs),
        fmt(r.spreadPct),
      ]),
    });
    const pipelineNs = nsOf(pipelineRows, 'pipeline (this block)');
    targets.push(
      target(
        'full pipeline vs the same pipeline on opossum defaults: p-queue + retry + opossum (× time per call)',
        pipelineNs / equivalentNs,
        '<=',
        1,
      ),
      target(
        'full pipeline (4 policies, p-queue included) vs one opossum-defaults breaker call (× time per call)',
        pipelineNs / defaultsNs,
        '<=',
        1,
      ),
    );
    bareDefaults.shutdown();
    opossumForPipeline.shutdown();

    // 2b. Where the pipeline's time goes: each policy alone, and the four together.
    log('each policy alone');
    const alone = {
      bulkhead: bulkhead({ concurrency: 64, maxQueue: 1_024 }),
      retry: retry({ maxAttempts: 3 }),
      breaker: new CircuitBreaker(),
      timeout: timeout(10_000),
      pipeline: pipeline(
        bulkhead({ concurrency: 64, maxQueue: 1_024 }),
        retry({ maxAttempts: 3 }),
        new CircuitBreaker(),
        timeout(10_000),
      ),
    };
    const aloneRows = await compare(
      [
        { name: 'bare call', fn: () => ok() },
        { name: 'bulkhead (a free slot)', fn: () => alone.bulkhead.execute(ok) },
        { name: 'retry (first attempt succeeds)', fn: () => alone.retry.execute(ok) },
        { name: 'CircuitBreaker (closed)', fn: () => alone.breaker.execute(ok) },
        { name: 'timeout (10 s)', fn: () => alone.timeout.execute(ok) },
        { name: 'all four in a pipeline', fn: () => alone.pipeline.execute(ok) },
      ],
      { quick, rounds: quick ? 3 : 21 },
    );
    const bareNs = nsOf(aloneRows, 'bare call');
    tables.push({
      title: 'Each policy alone, success path (per call)',
      columns: ['case', 'ns/call', 'ns over a bare call', 'spread %'],
      rows: aloneRows.map((r) => [r.name, r.nsPerOp, Math.max(0, r.nsPerOp - bareNs), fmt(r.spreadPct)]),
    });
    alone.breaker.dispose();

    // 3. Failure path with 1,000 and 16,000 failures in the window.
    log('failure path at 1,000 and 16,000 failures in the window');
    const failureRounds = quick ? 3 : 9;
    const failureRows: (string | number)[][] = [];
    const failureData: Record<string, { at1k: number; at16k: number; ratio: number }> = {};
    for (const t of failureTargets) {
      const { at1k, at16k } = await failureCosts(t, failureRounds);
      const ratio = at16k / at1k;
      failureData[t.name] = { at1k, at16k, ratio };
      failureRows.push([t.name, at1k, at16k, fmt(ratio)]);
    }
    tables.push({
      title: 'Failure path: ns per failing call with N failures in the window',
      columns: ['breaker', 'N = 1,000', 'N = 16,000', '16k / 1k'],
      rows: failureRows,
    });
    const mine = failureData['CircuitBreaker (this block)'];
    if (mine === undefined) throw new Error('missing failure measurement');
    targets.push(target('failure cost at 16,000 vs 1,000 failures in the window (×)', mine.ratio, '<=', 1.5));

    return {
      tables,
      targets,
      data: {
        breaker: breakerRows,
        pipeline: pipelineRows,
        alone: aloneRows,
        failure: failureData,
        notes: [
          'lean opossum = rollingPercentilesEnabled: false, enableSnapshots: false, timeout: false',
          'failure path: breakers configured never to trip (threshold 100 %) so the window keeps filling',
          'opossum defaults at N failures: window primed with N failures and latencies (same state as N real failures)',
          'full pipeline: the first target compares like with like (the same four protections built on opossum defaults, whose timeout is built in); the second compares four policies, a p-queue bulkhead among them, with one bare opossum call',
        ],
      },
    };
  },
};
