/**
 * Saga benchmark.
 *
 * - Overhead: the 5-step checkout saga (reserve → charge → pivot confirm → ship → notify) on a
 *   `MemorySagaLog` against a hand-written try/catch function making the same five service calls and
 *   compensating the same way, but with no log, no leases, no retries, no recovery. Measured with services
 *   that answer on the next event-loop turn (`tick`, the target: any real call is at least that slow) and
 *   with services that answer at once (`none`: bookkeeping only, reported as µs per step). Two slowdowns
 *   are reported: the median of 25 per-round ratios (each round runs both back to back, in alternating
 *   order, so a slow spell of the shared machine weighs on both alike) and the ratio of the two medians; the
 *   target is held against the larger.
 * - Durability: steps/s through a `FileSagaLog` (fsync per group of appends) with 1 and 64 sagas in flight.
 * - Recovery: time to open a file log holding 10,000 unfinished sagas (crashed at their pivot) and
 *   `recover()` every one of them to `completed`, in a fresh process each time as after a real crash (cold
 *   JIT, nothing warmed up by the rest of this benchmark): three runs on copies of one log. The target is
 *   held against the median time of `recover()` (the "time to recover()"); the time to open the log
 *   before it, and the sum, are reported beside it.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FileSagaLog,
  MemorySagaLog,
  type SagaEntry,
  SagaOrchestrator,
  type SagaRecordBody,
} from '../../src/saga/index.js';
import { compare, pairedSlowdown, timeOnce } from '../lib/harness.js';
import { type Benchmark, type BenchReport, type ResultTable, type TargetCheck, target } from '../lib/types.js';
import { type CheckoutInput, checkoutSaga, type Latency, Shop } from './services.js';

const STEPS = 5;
/** `SagaRecoverOptions.concurrency`'s default, which the recovery measurement uses (it passes no options). */
const RECOVERY_CONCURRENCY = 256;

/** The same calls and compensations, by hand. */
async function handWritten(shop: Shop, id: string, input: CheckoutInput): Promise<void> {
  const reserveKey = `${id}:reserve`;
  const chargeKey = `${id}:charge`;
  let reserved = false;
  let charged = false;
  let chargeId: string;
  try {
    await shop.reserve(reserveKey, input.sku, input.qty);
    reserved = true;
    chargeId = (await shop.charge(chargeKey, input.cents)).chargeId;
    charged = true;
    await shop.confirm(`${id}:confirm`, chargeId);
  } catch (error: unknown) {
    if (charged) await shop.refund(chargeKey);
    if (reserved) await shop.release(reserveKey);
    throw error;
  }
  const { trackingId } = await shop.ship(`${id}:ship`, input.sku);
  await shop.notify(`${id}:notify`, trackingId);
}

const INPUT: CheckoutInput = { sku: 'mug-blue', qty: 2, cents: 2_400 };

async function overhead(latency: Latency, quick: boolean) {
  const shop = new Shop(latency);
  const saga = checkoutSaga(shop);
  const orchestrator = new SagaOrchestrator({ log: new MemorySagaLog({ maxFinishedSagas: 1_000 }), owner: 'bench' });
  let run = 0;
  const [hand, ours] = await compare(
    [
      { name: 'hand-written try/catch', fn: (i) => handWritten(shop, `h-${i}`, INPUT) },
      {
        name: 'SagaOrchestrator + MemorySagaLog',
        fn: async () => {
          const result = await orchestrator.run(saga, INPUT, { sagaId: `s-${run++}` });
          if (result.status !== 'completed') throw new Error(`saga ended ${result.status}`);
        },
      },
    ],
    { quick, rounds: quick ? 3 : 25 },
  );
  return { hand: hand!, ours: ours! };
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sdb-saga-bench-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `total` sagas, `inFlight` at a time, through a fresh FileSagaLog; returns steps per second. */
async function fileThroughput(total: number, inFlight: number): Promise<{ stepsPerSec: number; ms: number }> {
  return withDir(async (dir) => {
    const log = await FileSagaLog.open(join(dir, 'sagas.jsonl'));
    const shop = new Shop('none');
    const saga = checkoutSaga(shop);
    const orchestrator = new SagaOrchestrator({ log, owner: 'bench' });
    let next = 0;
    const ms = await timeOnce(async () => {
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < total) {
            const id = next++;
            await orchestrator.run(saga, INPUT, { sagaId: `f-${id}` });
          }
        }),
      );
    });
    await log.close();
    return { stepsPerSec: (total * STEPS * 1000) / ms, ms };
  });
}

/**
 * Writes a log where `count` sagas crashed at their pivot: started, reserve and charge done, confirm started.
 * Written through a FileSagaLog (without fsync, to be quick), in the batches the orchestrator writes, so the
 * file holds exactly what a crashed process would have left.
 */
async function crashedLog(path: string, count: number): Promise<void> {
  const log = await FileSagaLog.open(path, { sync: 'never' });
  const at = Date.UTC(2026, 0, 1);
  let next = 0;
  const writer = async (): Promise<void> => {
    while (next < count) {
      const sagaId = `order-${next++}`;
      const entry = (seq: number, body: SagaRecordBody): SagaEntry =>
        Object.assign({ sagaId, seq, at: at + seq, owner: 'crashed' }, body) as SagaEntry;
      await log.append([
        entry(0, {
          type: 'saga_started',
          saga: 'checkout',
          steps: ['reserve', 'charge', 'confirm', 'ship', 'notify'],
          input: { cents: INPUT.cents, qty: INPUT.qty, sku: INPUT.sku },
        }),
        entry(1, { type: 'step_started', step: 'reserve', attempt: 1 }),
      ]);
      await log.append([
        entry(2, { type: 'step_completed', step: 'reserve', output: { reservationId: `${sagaId}:reserve` } }),
        entry(3, { type: 'step_started', step: 'charge', attempt: 1 }),
      ]);
      await log.append([
        entry(4, { type: 'step_completed', step: 'charge', output: { chargeId: `ch_${sagaId}:charge` } }),
        entry(5, { type: 'step_started', step: 'confirm', attempt: 1 }),
      ]);
    }
  };
  await Promise.all(Array.from({ length: 64 }, writer));
  await log.close();
}

interface RecoveryRun {
  /** Open and recover, ms. */
  readonly totalMs: number;
  readonly openMs: number;
  readonly recoverMs: number;
  /** CPU of the recovering process (every thread) during the run, ms. */
  readonly cpuMs: number;
}

const CHILD = fileURLToPath(new URL('./recover-child.ts', import.meta.url));

/** Recovers `path` in a fresh process (started with this one's loader flags), which times itself. */
function recoverInChild(path: string, count: number): Promise<RecoveryRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...process.execArgv, CHILD, path, String(count)],
      { maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`recovery process failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as RecoveryRun);
      },
    );
  });
}

/**
 * Recovers a copy of one crashed log `runs` times, each in a new process, as after a real crash (nothing
 * warmed up by the rest of the benchmark), and returns every run in the order they ran.
 */
async function recovery(count: number, runs: number): Promise<RecoveryRun[]> {
  return withDir(async (dir) => {
    const crashed = join(dir, 'crashed.jsonl');
    await crashedLog(crashed, count);
    const results: RecoveryRun[] = [];
    for (let run = 0; run < runs; run++) {
      const path = join(dir, `sagas-${run}.jsonl`);
      copyFileSync(crashed, path);
      results.push(await recoverInChild(path, count));
    }
    return results;
  });
}

export const benchmark: Benchmark = {
  name: 'saga',
  description: 'saga orchestration overhead vs hand-written compensation, FileSagaLog throughput, crash recovery time',
  async run({ quick, log }): Promise<BenchReport> {
    log('overhead: services answering on the next event-loop turn');
    const tick = await overhead('tick', quick);
    log('overhead: services answering at once');
    const none = await overhead('none', quick);
    const tickRatio = pairedSlowdown(tick.hand, tick.ours);
    const noneRatio = pairedSlowdown(none.hand, none.ours);
    const perStepUs = (none.ours.nsPerOp - none.hand.nsPerOp) / 1000 / STEPS;
    const overheadTable: ResultTable = {
      title: '5-step checkout saga vs hand-written try/catch compensation (same service calls)',
      columns: ['services', 'case', 'sagas/s', 'µs/saga', 'spread %', 'slowdown × (paired)', 'ratio of medians ×'],
      rows: [
        ['next-turn', tick.hand.name, tick.hand.opsPerSec, tick.hand.nsPerOp / 1000, tick.hand.spreadPct, 1, 1],
        [
          'next-turn',
          tick.ours.name,
          tick.ours.opsPerSec,
          tick.ours.nsPerOp / 1000,
          tick.ours.spreadPct,
          tickRatio,
          tick.hand.opsPerSec / tick.ours.opsPerSec,
        ],
        ['instant', none.hand.name, none.hand.opsPerSec, none.hand.nsPerOp / 1000, none.hand.spreadPct, 1, 1],
        [
          'instant',
          none.ours.name,
          none.ours.opsPerSec,
          none.ours.nsPerOp / 1000,
          none.ours.spreadPct,
          noneRatio,
          none.hand.opsPerSec / none.ours.opsPerSec,
        ],
      ],
    };

    const sagas = quick ? 60 : 600;
    log(`FileSagaLog: ${sagas} sagas one at a time, then ${sagas * 4} with 64 in flight`);
    const serial = await fileThroughput(sagas, 1);
    const parallel = await fileThroughput(sagas * 4, 64);
    const fileTable: ResultTable = {
      title: 'FileSagaLog (sync: group, fsync before each append resolves), 5-step saga',
      columns: ['sagas in flight', 'sagas', 'steps/s', 'ms'],
      rows: [
        [1, sagas, serial.stepsPerSec, serial.ms],
        [64, sagas * 4, parallel.stepsPerSec, parallel.ms],
      ],
    };

    const count = quick ? 1_000 : 10_000;
    const runs = quick ? 1 : 3;
    log(
      `recovery: ${count} unfinished sagas, recover() with its default concurrency (${RECOVERY_CONCURRENCY}), ${runs} run(s)`,
    );
    const recoveries = await recovery(count, runs);
    // The median run by the time of recover() (the "time to recover()"), and the median open + recover.
    const recovered = [...recoveries].sort((a, b) => a.recoverMs - b.recoverMs)[runs >> 1] as RecoveryRun;
    const medianTotalMs = ([...recoveries].sort((a, b) => a.totalMs - b.totalMs)[runs >> 1] as RecoveryRun).totalMs;
    const recoveryTable: ResultTable = {
      title: `Crash recovery from a FileSagaLog: ${count} sagas stopped at their pivot, each driven to completed by recover() (${RECOVERY_CONCURRENCY} at a time, its default), in a fresh process each time; ${runs} run(s) on copies of one log, in the order they ran, the median by recover() marked`,
      columns: ['run', 'sagas', 'open ms', 'recover() ms', 'open + recover ms', 'CPU ms (that process)', 'sagas/s'],
      rows: recoveries.map((r, i) => [
        r === recovered && runs > 1 ? `${i + 1} (median)` : String(i + 1),
        count,
        r.openMs,
        r.recoverMs,
        r.totalMs,
        r.cpuMs,
        (count * 1000) / r.totalMs,
      ]),
    };

    const targets: TargetCheck[] = [
      target(
        '5-step in-memory saga vs hand-written, next-turn services, the larger of paired and ratio of medians (×)',
        Math.max(tickRatio, tick.hand.opsPerSec / tick.ours.opsPerSec),
        '<=',
        3,
      ),
      target(
        `recover() of ${count} unfinished sagas from a file log, in a fresh process, median of ${runs} (s)`,
        recovered.recoverMs / 1000,
        '<=',
        quick ? 0.2 : 2,
      ),
    ];
    return {
      tables: [overheadTable, fileTable, recoveryTable],
      targets,
      data: {
        overheadRatioNextTurn: tickRatio,
        overheadRatioInstant: noneRatio,
        bookkeepingMicrosPerStep: perStepUs,
        fileStepsPerSecSerial: serial.stepsPerSec,
        fileStepsPerSec64: parallel.stepsPerSec,
        recoverySagas: count,
        recoveryMs: recovered.recoverMs,
        recoveryOpenAndRecoverMedianMs: medianTotalMs,
        recoveryOpenMs: recovered.openMs,
        recoveryRunsMs: recoveries.map((r) => r.totalMs),
        recoveryCpuMs: recovered.cpuMs,
        recoveryConcurrency: RECOVERY_CONCURRENCY,
      },
    };
  },
};
