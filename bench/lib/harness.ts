/**
 * A small, honest micro-benchmark harness. Each case runs in batches sized to last about `batchMs`; cases are
 * interleaved round by round so that a noisy neighbour slows every case alike, and the median batch rate is
 * reported. Ratios between cases of one `compare` call are what the benchmarks report: absolute numbers on
 * a shared machine wander.
 */
import { cpus } from 'node:os';

/** One measured function. `fn` is called once per operation; a returned promise is awaited. */
export interface BenchCase {
  readonly name: string;
  readonly fn: (i: number) => unknown;
  /** Operations performed by one call of `fn` (e.g. a batch of 100 lookups). @defaultValue 1 */
  readonly opsPerCall?: number;
  /** Called once before the case is measured. */
  readonly setup?: () => unknown;
}

/** Measured rate of one case. */
export interface BenchMeasure {
  readonly name: string;
  /** Median operations per second over the measured batches. */
  readonly opsPerSec: number;
  /** Median nanoseconds per operation. */
  readonly nsPerOp: number;
  /** Relative spread (max-min)/median of the batch rates, in %. */
  readonly spreadPct: number;
  readonly batches: number;
  /** The rate of each batch, round by round (the batches of one round of every case of one `compare` ran back to back). */
  readonly rates: readonly number[];
}

/** Options of {@link compare}. */
export interface CompareOptions {
  /** Brief run: CI proves the benchmark still runs, numbers are not meaningful. */
  readonly quick?: boolean;
  /** Rounds: each case gets one batch per round. @defaultValue 15 (3 when quick) */
  readonly rounds?: number;
  /** Target duration of one batch. @defaultValue 40 (5 when quick) */
  readonly batchMs?: number;
}

function isPromise(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

async function runBatch(fn: (i: number) => unknown, calls: number, start: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const r = fn(start + i);
    if (isPromise(r)) await r;
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Measures every case, interleaved (in reverse order every other round), and returns their rates in the order
 * given.
 */
export async function compare(cases: readonly BenchCase[], options: CompareOptions = {}): Promise<BenchMeasure[]> {
  const quick = options.quick ?? false;
  const rounds = options.rounds ?? (quick ? 3 : 15);
  const batchMs = options.batchMs ?? (quick ? 5 : 40);
  const sizes: number[] = [];
  const counters: number[] = [];
  for (const c of cases) {
    await c.setup?.();
    // Calibrate: grow the batch until it lasts at least batchMs (this also warms the JIT).
    let calls = 1;
    let counter = 0;
    for (;;) {
      const ms = await runBatch(c.fn, calls, counter);
      counter += calls;
      if (ms >= batchMs || calls >= 1 << 26) {
        calls = Math.max(1, Math.round((calls * batchMs) / Math.max(ms, 1e-3)));
        break;
      }
      calls *= ms < batchMs / 16 ? 8 : 2;
    }
    sizes.push(calls);
    counters.push(counter);
  }
  const rates: number[][] = cases.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      // Every other round runs the cases in reverse, so no case always runs first (or right after a GC of
      // the one before).
      const k = r % 2 === 0 ? i : cases.length - 1 - i;
      const c = cases[k] as BenchCase;
      const calls = sizes[k] as number;
      const ms = await runBatch(c.fn, calls, counters[k] as number);
      counters[k] = (counters[k] as number) + calls;
      (rates[k] as number[]).push((calls * (c.opsPerCall ?? 1) * 1000) / Math.max(ms, 1e-6));
    }
  }
  return cases.map((c, k) => {
    const list = rates[k] as number[];
    const med = median(list);
    return {
      name: c.name,
      opsPerSec: med,
      nsPerOp: 1e9 / med,
      spreadPct: ((Math.max(...list) - Math.min(...list)) / med) * 100,
      batches: list.length,
      rates: list,
    };
  });
}

/**
 * How many times slower `slow` is than `fast`, paired round by round: the median of the per-round ratios of
 * their rates. Two batches of one round ran back to back, so a slow spell of a shared machine hits both
 * alike; the ratio of the two medians mixes rounds that ran under different loads.
 */
export function pairedSlowdown(fast: BenchMeasure, slow: BenchMeasure): number {
  const ratios = fast.rates.map((rate, r) => rate / (slow.rates[r] as number));
  return median(ratios);
}

/** Times one async or sync function once, in ms. */
export async function timeOnce(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = fn();
  if (isPromise(r)) await r;
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Machine and runtime facts recorded next to every result. */
export function machine(): { node: string; cpu: string; cores: number; platform: string; date: string } {
  const list = cpus();
  return {
    node: process.version,
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** Formats a number for tables: 3 significant digits, thousands separated. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}
