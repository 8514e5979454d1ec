/**
 * Full runs use 41 interleaved rounds (medians) because the shared machine is noisy.
 *
 * What idempotency costs: `idempotent()` on first execution and on replay against the bare handler (same run,
 * interleaved), a hand-rolled Map memo for perspective, the payment processor's charge and replay, and the
 * throughput of 10,000 concurrent duplicates of one key in both in-progress policies.
 */
import { ManualClock, systemClock } from '../../src/core/index.js';
import {
  createPaymentProcessor,
  idempotent,
  isIdempotencyInProgressError,
  MemoryIdempotencyStore,
  SimulatedGateway,
} from '../../src/idempotency/index.js';
import { compare, fmt } from '../lib/harness.js';
import { type Benchmark, type BenchReport, target } from '../lib/types.js';

interface Req {
  readonly customerId: string;
  readonly idempotencyKey: string;
  readonly amount: number;
  readonly items: readonly string[];
}

const handler = async (req: Req): Promise<{ orderId: string; total: number; items: number }> => ({
  orderId: `o-${req.idempotencyKey}`,
  total: req.amount,
  items: req.items.length,
});

function request(key: string): Req {
  return { customerId: 'c-1', idempotencyKey: key, amount: 1_999, items: ['sku-1', 'sku-2'] };
}

/** One clock tick per call and a 1 s retention: the store stays at ~1,000 records, as in a steady state. */
function wrapped() {
  const clock = new ManualClock();
  const fn = idempotent(handler, {
    store: new MemoryIdempotencyStore({ clock }),
    key: (r) => r.idempotencyKey,
    scope: (r) => r.customerId,
    retention: 1_000,
    clock,
  });
  return { clock, fn };
}

function memo() {
  // The hand-rolled version: not safe under concurrency (check-then-insert), no fingerprint, no expiry.
  const seen = new Map<string, unknown>();
  return async (req: Req): Promise<unknown> => {
    const key = `${req.customerId}/${req.idempotencyKey}`;
    const hit = seen.get(key);
    if (hit !== undefined) return hit;
    const value = await handler(req);
    seen.set(key, value);
    if (seen.size > 1_000) seen.delete(seen.keys().next().value as string);
    return value;
  };
}

async function duplicates(
  mode: 'wait' | 'reject',
  count: number,
): Promise<{ ms: number; executions: number; ok: number }> {
  let executions = 0;
  const fn = idempotent(
    async (req: Req) => {
      executions++;
      await new Promise<void>((resolve) => setImmediate(resolve)); // one I/O turn
      return { orderId: req.idempotencyKey };
    },
    {
      store: new MemoryIdempotencyStore(),
      key: (r) => r.idempotencyKey,
      scope: (r) => r.customerId,
      onInProgress: mode,
      clock: systemClock,
    },
  );
  const req = request('dup');
  const t0 = process.hrtime.bigint();
  const results = await Promise.allSettled(Array.from({ length: count }, () => fn(req)));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const rejected = results.filter((r) => r.status === 'rejected' && isIdempotencyInProgressError(r.reason)).length;
  if (ok + rejected !== count) throw new Error(`unexpected outcomes in ${mode} mode`);
  return { ms, executions, ok };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

export const benchmark: Benchmark = {
  name: 'idempotency',
  description: 'idempotent() overhead on first execution and replay vs the bare handler; 10,000 concurrent duplicates',
  async run({ quick, log }): Promise<BenchReport> {
    log('overhead vs the bare handler (interleaved rounds)');
    const first = wrapped();
    const replay = wrapped();
    const replayReq = request('replayed');
    await replay.fn(replayReq);
    const memoFirst = memo();
    const memoReplay = memo();
    await memoReplay(replayReq);
    const requests = Array.from({ length: 4_096 }, (_, i) => request(`k-${i}`));
    const cases = await compare(
      [
        { name: 'bare handler', fn: (i) => handler(requests[i & 4_095] as Req) },
        {
          name: 'idempotent(), first execution',
          fn: (i) => {
            first.clock.advance(1);
            return first.fn(request(`first-${i}`));
          },
        },
        { name: 'idempotent(), replay', fn: () => replay.fn(replayReq) },
        { name: 'Map memo (unsafe), first', fn: (i) => memoFirst(request(`first-${i}`)) },
        { name: 'Map memo (unsafe), replay', fn: () => memoReplay(replayReq) },
      ],
      { quick, ...(quick ? {} : { rounds: 41 }) },
    );
    const [bare, firstRun, replayRun, memoFirstRun, memoReplayRun] = cases as [
      (typeof cases)[0],
      (typeof cases)[0],
      (typeof cases)[0],
      (typeof cases)[0],
      (typeof cases)[0],
    ];
    const ratio = (c: (typeof cases)[0]) => bare.opsPerSec / c.opsPerSec;

    log('payment processor: charge and replay (gateway latency 0)');
    const gateway = new SimulatedGateway();
    const paymentMethod = gateway.createPaymentMethod({ number: '4242424242424242', expMonth: 1, expYear: 2031 });
    const pclock = new ManualClock();
    const processor = createPaymentProcessor({
      gateway,
      store: new MemoryIdempotencyStore({ clock: pclock }),
      clock: pclock,
      retention: 1_000,
    });
    const charge = (key: string) =>
      processor.charge({ idempotencyKey: key, customerId: 'c-1', amount: 1_000, currency: 'USD', paymentMethod });
    await charge('replayed');
    const processorCases = await compare(
      [
        {
          name: 'PaymentProcessor.charge, first',
          fn: (i) => {
            pclock.advance(1);
            return charge(`p-${i}`);
          },
        },
        { name: 'PaymentProcessor.charge, replay', fn: () => charge('replayed') },
      ],
      { quick, ...(quick ? {} : { rounds: 41 }) },
    );

    log('10,000 concurrent duplicates of one key');
    const count = 10_000;
    const rounds = quick ? 2 : 7;
    const waits: { ms: number; executions: number; ok: number }[] = [];
    const rejects: { ms: number; executions: number; ok: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      waits.push(await duplicates('wait', count));
      rejects.push(await duplicates('reject', count));
    }
    const waitMs = median(waits.map((w) => w.ms));
    const rejectMs = median(rejects.map((w) => w.ms));
    const waitExecutions = Math.max(...waits.map((w) => w.executions));
    const rejectExecutions = Math.max(...rejects.map((w) => w.executions));
    const waitAllOk = waits.every((w) => w.ok === count);

    const rows = [bare, firstRun, replayRun, memoFirstRun, memoReplayRun].map((c) => [
      c.name,
      c.opsPerSec,
      c.nsPerOp,
      c === bare ? '1' : fmt(ratio(c)),
      c === bare ? '-' : fmt(c.nsPerOp - bare.nsPerOp),
      `${fmt(c.spreadPct)} %`,
    ]);
    return {
      tables: [
        {
          title: 'Overhead per call (same run; ratio = time per call / bare handler)',
          columns: ['case', 'ops/s', 'ns/op', 'x bare', 'added ns', 'spread'],
          rows,
        },
        {
          title: 'Payment processor (in-memory store, simulated gateway without latency)',
          columns: ['case', 'ops/s', 'ns/op', 'spread'],
          rows: processorCases.map((c) => [c.name, c.opsPerSec, c.nsPerOp, `${fmt(c.spreadPct)} %`]),
        },
        {
          title: `${fmt(count)} concurrent duplicates of one key (median of ${rounds})`,
          columns: ['policy', 'total ms', 'duplicates/s', 'handler runs', 'answered with the value'],
          rows: [
            ["onInProgress: 'wait'", waitMs, (count / waitMs) * 1000, waitExecutions, waitAllOk ? 'all' : 'not all'],
            ["onInProgress: 'reject' (409)", rejectMs, (count / rejectMs) * 1000, rejectExecutions, '1 (others 409)'],
          ],
        },
      ],
      targets: [
        target("10,000 duplicates, 'wait': handler runs", waitExecutions, '==', 1),
        target("10,000 duplicates, 'reject': handler runs", rejectExecutions, '==', 1),
        target(
          'replay costs less than a first execution (first / replay time, x)',
          firstRun.nsPerOp / replayRun.nsPerOp,
          '>=',
          1,
        ),
      ],
      data: {
        ratios: {
          first: ratio(firstRun),
          replay: ratio(replayRun),
          memoFirst: ratio(memoFirstRun),
          memoReplay: ratio(memoReplayRun),
        },
        addedNs: { first: firstRun.nsPerOp - bare.nsPerOp, replay: replayRun.nsPerOp - bare.nsPerOp },
        duplicates: {
          count,
          waitMs,
          rejectMs,
          waitPerSec: (count / waitMs) * 1000,
          rejectPerSec: (count / rejectMs) * 1000,
        },
        processor: Object.fromEntries(processorCases.map((c) => [c.name, c.opsPerSec])),
      },
    };
  },
};
