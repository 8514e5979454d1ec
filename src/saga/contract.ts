/**
 * The contract every {@link SagaLog} must honour, as a runner-agnostic test suite.
 */
import assert from 'node:assert/strict';
import { type Clock, type ContractTest, isValidationError, ManualClock } from '../core/index.js';
import { isSagaLogClosedError, isSagaLogConflictError } from './errors.js';
import type { SagaLog } from './log.js';
import { type SagaEntry, type SagaRecord, type SagaRecordBody, verifySagaRecords } from './records.js';

/** What a contract factory receives. */
export interface SagaLogContractContext {
  /** The clock the log must use for leases; the suite moves it. */
  readonly clock: Clock;
}

/** Builds a fresh, empty log for one test of {@link runSagaLogContract}. */
export type SagaLogContractFactory = (context: SagaLogContractContext) => SagaLog | Promise<SagaLog>;

/** Builds the entries of one saga from position `from` on, the way an orchestrator would. */
function chain(sagaId: string, bodies: readonly SagaRecordBody[], from = 0): SagaEntry[] {
  return bodies.map(
    (body, i) =>
      Object.assign({ sagaId, seq: from + i, at: 1_700_000_000_000 + from + i, owner: 'contract' }, body) as SagaEntry,
  );
}

/** The entry fields of a record (drops the chain fields). */
function entryOf(record: SagaRecord | undefined): Record<string, unknown> {
  const { prev: _prev, hash: _hash, ...entry } = record as SagaRecord;
  return entry;
}

/** Reads a saga and checks its records form an intact chain. */
async function readVerified(log: SagaLog, sagaId: string): Promise<readonly SagaRecord[]> {
  const records = await log.read(sagaId);
  // A copy of the list: the log may vouch for the list it returns, and the suite must hash every record.
  const verdict = verifySagaRecords([...records], { sagaId });
  assert.ok(verdict.ok, verdict.ok ? '' : `the log's records do not form an intact chain: ${verdict.message}`);
  return records;
}

const started = (steps: readonly string[] = ['a', 'b']): SagaRecordBody => ({
  type: 'saga_started',
  saga: 'contract',
  steps,
  input: { order: 'o-1', lines: [{ sku: 'mug', qty: 2 }], note: 'ünïcødé ✓', big: 2 ** 40, neg: -0.5 },
});

async function appendAll(log: SagaLog, records: readonly SagaEntry[]): Promise<void> {
  for (const record of records) await log.append([record]);
}

async function rejectsWith(promise: Promise<unknown>, guard: (e: unknown) => boolean, what: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(guard(error), `expected ${what}, got ${String(error)}`);
    return true;
  });
}

/**
 * Registers the tests every {@link SagaLog} must pass: append with optimistic versions (one winner among
 * concurrent appenders), records returned verbatim and in order, immutability, the unfinished list, leases
 * on the clock, validation and closing. Pass your runner's `it`; each test gets a fresh log from `factory`
 * and closes it at the end.
 *
 * @param test - The runner's test function (`it` of vitest, `test` of `node:test`).
 * @param factory - Builds an empty log using the given clock for leases.
 * @example
 * ```ts
 * import { it } from 'vitest';
 * import { MemorySagaLog, runSagaLogContract } from 'system-design-blocks/saga';
 *
 * runSagaLogContract(it, ({ clock }) => new MemorySagaLog({ clock }));
 * ```
 */
export function runSagaLogContract(test: ContractTest, factory: SagaLogContractFactory): void {
  const withLog = (name: string, body: (log: SagaLog, clock: ManualClock) => Promise<void>): void => {
    test(`SagaLog contract: ${name}`, async () => {
      const clock = new ManualClock(1_000);
      const log = await factory({ clock });
      try {
        await body(log, clock);
      } finally {
        await log.close();
      }
    });
  };

  withLog('an unknown saga reads as empty and is not unfinished', async (log) => {
    assert.deepEqual([...(await log.read('nobody'))], []);
    assert.deepEqual([...(await log.listUnfinished())], []);
  });

  withLog(
    'append returns the new version; read returns the entries verbatim, in order, sealed in a chain',
    async (log) => {
      const entries = chain('s-1', [
        started(),
        { type: 'step_started', step: 'a', attempt: 1 },
        { type: 'step_completed', step: 'a', output: { id: 'r-1', nested: { list: [1, 'two', null, true] } } },
        { type: 'step_started', step: 'b', attempt: 1 },
        {
          type: 'step_failed',
          step: 'b',
          attempt: 1,
          error: { name: 'Error', message: 'boom', code: 'E_X' },
          retryInMs: 10,
        },
      ]);
      for (const [i, entry] of entries.entries()) assert.equal(await log.append([entry]), i + 1);
      const read = await readVerified(log, 's-1');
      assert.equal(read.length, entries.length);
      for (const [i, entry] of entries.entries()) assert.deepEqual(entryOf(read[i]), { ...entry });
      const again = await readVerified(log, 's-1');
      assert.deepEqual(
        again.map((r) => r.hash),
        read.map((r) => r.hash),
      );
    },
  );

  withLog('an append at the wrong version is refused and changes nothing', async (log) => {
    const entries = chain('s-1', [started(), { type: 'step_started', step: 'a', attempt: 1 }]);
    await log.append([entries[0] as SagaEntry]);
    await rejectsWith(
      log.append([entries[0] as SagaEntry]),
      isSagaLogConflictError,
      'SagaLogConflictError (seq 0 again)',
    );
    const skipAhead = chain('s-1', [{ type: 'saga_completed' }], 2);
    await rejectsWith(log.append([skipAhead[0] as SagaEntry]), isSagaLogConflictError, 'SagaLogConflictError (seq 2)');
    const fresh = chain('s-2', [started(), { type: 'step_started', step: 'a', attempt: 1 }]);
    await rejectsWith(
      log.append([fresh[1] as SagaEntry]),
      isSagaLogConflictError,
      'SagaLogConflictError (new saga at 1)',
    );
    assert.equal((await readVerified(log, 's-1')).length, 1);
    assert.equal((await log.read('s-2')).length, 0);
    await log.append([entries[1] as SagaEntry]);
    assert.equal((await readVerified(log, 's-1')).length, 2);
  });

  withLog('a multi-entry append is all or nothing', async (log) => {
    const entries = chain('s-1', [
      started(),
      { type: 'step_started', step: 'a', attempt: 1 },
      { type: 'step_completed', step: 'a', output: 1 },
      { type: 'step_started', step: 'b', attempt: 1 },
      { type: 'step_completed', step: 'b' },
      { type: 'saga_completed' },
    ]);
    assert.equal(await log.append(entries.slice(0, 2)), 2);
    await rejectsWith(log.append(entries.slice(1, 4)), isSagaLogConflictError, 'SagaLogConflictError (stale batch)');
    assert.equal((await log.read('s-1')).length, 2);
    assert.equal(await log.append(entries.slice(2, 4)), 4);
    assert.deepEqual([...(await log.listUnfinished())], ['s-1']);
    assert.equal(await log.append(entries.slice(4)), 6);
    assert.deepEqual([...(await log.listUnfinished())], []);
    const read = await readVerified(log, 's-1');
    assert.deepEqual(
      read.map(entryOf),
      entries.map((e) => ({ ...e })),
    );
  });

  withLog('a malformed batch is refused whole: empty, gaps, other sagas', async (log) => {
    const mine = chain('s-1', [started(), { type: 'step_started', step: 'a', attempt: 1 }, { type: 'saga_completed' }]);
    const theirs = chain('s-2', [started(), { type: 'step_started', step: 'a', attempt: 1 }]);
    const batches: unknown[] = [
      [],
      'not an array',
      [mine[0], mine[2]],
      [mine[0], theirs[1]],
      [mine[0], { ...mine[1], type: 'nonsense' }],
    ];
    for (const batch of batches) {
      await rejectsWith(log.append(batch as SagaEntry[]), isValidationError, 'ValidationError');
    }
    assert.equal((await log.read('s-1')).length, 0);
    assert.equal((await log.read('s-2')).length, 0);
  });

  withLog('of concurrent appends at one version exactly one wins', async (log) => {
    await appendAll(log, chain('s-1', [started()]));
    const rivals = Array.from(
      { length: 8 },
      (_, i) => chain('s-1', [{ type: 'step_started', step: 'a', attempt: i + 1 }], 1)[0] as SagaEntry,
    );
    const outcomes = await Promise.allSettled(rivals.map((r) => log.append([r])));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(isSagaLogConflictError(o.reason));
    const read = await readVerified(log, 's-1');
    assert.equal(read.length, 2);
    const winner = rivals[outcomes.findIndex((o) => o.status === 'fulfilled')] as SagaEntry;
    assert.deepEqual(entryOf(read[1]), { ...winner });
  });

  withLog('appends to different sagas interleave without interfering', async (log) => {
    const a = chain('s-a', [started(), { type: 'step_started', step: 'a', attempt: 1 }, { type: 'saga_completed' }]);
    const b = chain('s-b', [started(), { type: 'step_started', step: 'a', attempt: 1 }]);
    await Promise.all([appendAll(log, a), appendAll(log, b)]);
    assert.deepEqual(
      (await readVerified(log, 's-a')).map(entryOf),
      a.map((e) => ({ ...e })),
    );
    assert.deepEqual(
      (await readVerified(log, 's-b')).map(entryOf),
      b.map((e) => ({ ...e })),
    );
  });

  withLog('stored records change neither through the appended entry nor through what read returns', async (log) => {
    const output = { list: [1, 2] };
    await appendAll(log, chain('s-1', [started(), { type: 'step_completed', step: 'a', output }]));
    try {
      output.list.push(99);
    } catch {
      // frozen by the log: fine
    }
    const first = await log.read('s-1');
    try {
      (first as SagaRecord[]).push(first[0] as SagaRecord);
    } catch {
      // frozen: fine
    }
    const read = (first[1] as Extract<SagaRecord, { type: 'step_completed' }>).output as { list: number[] };
    try {
      read.list.push(3);
    } catch {
      // frozen: fine
    }
    const again = await readVerified(log, 's-1');
    assert.equal(again.length, 2);
    assert.deepEqual((again[1] as Extract<SagaRecord, { type: 'step_completed' }>).output, { list: [1, 2] });
  });

  withLog('listUnfinished lists every saga until its terminal record, once', async (log) => {
    const failure = { name: 'Error', message: 'x' };
    const done = chain('done', [started(), { type: 'saga_completed' }]);
    const undone = chain('undone', [
      started(),
      { type: 'saga_compensating', step: 'a', error: failure },
      { type: 'saga_compensated', step: 'a', error: failure },
    ]);
    const open1 = chain('open-1', [started(), { type: 'step_started', step: 'a', attempt: 1 }]);
    const parked = chain('parked', [
      started(),
      { type: 'saga_needs_intervention', phase: 'forward', step: 'b', error: failure },
    ]);
    for (const entries of [done, undone, open1, parked]) await appendAll(log, entries);
    assert.deepEqual([...(await log.listUnfinished())].sort(), ['open-1', 'parked']);
    await appendAll(log, chain('open-1', [{ type: 'saga_completed' }], open1.length));
    assert.deepEqual([...(await log.listUnfinished())], ['parked']);
    assert.equal((await readVerified(log, 'done')).length, 2);
    assert.equal((await readVerified(log, 'open-1')).length, 3);
  });

  withLog('a lease excludes other owners until it expires; its owner renews it', async (log, clock) => {
    const first = await log.claim('s-1', 'alice', 1_000);
    assert.equal(first.acquired, true);
    const rival = await log.claim('s-1', 'bob', 1_000);
    assert.equal(rival.acquired, false);
    assert.equal(rival.owner, 'alice');
    clock.advance(600);
    assert.equal((await log.claim('s-1', 'alice', 1_000)).acquired, true); // renewed until 2_600
    clock.advance(600);
    assert.equal((await log.claim('s-1', 'bob', 1_000)).acquired, false);
    clock.advance(1_000);
    const taken = await log.claim('s-1', 'bob', 1_000);
    assert.equal(taken.acquired, true);
    assert.equal((await log.claim('s-1', 'alice', 1_000)).acquired, false);
  });

  withLog('release frees a lease only for its owner', async (log) => {
    await log.claim('s-1', 'alice', 60_000);
    assert.equal(await log.release('s-1', 'bob'), false);
    assert.equal((await log.claim('s-1', 'bob', 60_000)).acquired, false);
    assert.equal(await log.release('s-1', 'alice'), true);
    assert.equal((await log.claim('s-1', 'bob', 60_000)).acquired, true);
    assert.equal(await log.release('nobody', 'alice'), false);
  });

  withLog('of concurrent claims exactly one wins', async (log) => {
    const claims = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((owner) => log.claim('s-1', owner, 5_000)));
    assert.equal(claims.filter((c) => c.acquired).length, 1);
  });

  withLog('leases are per saga', async (log) => {
    assert.equal((await log.claim('s-1', 'alice', 5_000)).acquired, true);
    assert.equal((await log.claim('s-2', 'bob', 5_000)).acquired, true);
  });

  withLog('a malformed entry is refused with a ValidationError and nothing is stored', async (log) => {
    const good = chain('s-1', [started()])[0] as SagaEntry;
    const bad: unknown[] = [
      null,
      'entry',
      { ...good, sagaId: '' },
      { ...good, seq: -1 },
      { ...good, seq: 0.5 },
      { ...good, type: 'saga_exploded' },
      { ...good, at: Number.NaN },
      { ...good, owner: 42 },
    ];
    for (const entry of bad) await rejectsWith(log.append([entry as SagaEntry]), isValidationError, 'ValidationError');
    assert.equal((await log.read('s-1')).length, 0);
    assert.deepEqual([...(await log.listUnfinished())], []);
  });

  withLog('after close every operation is refused', async (log) => {
    await appendAll(log, chain('s-1', [started()]));
    await log.close();
    await rejectsWith(log.read('s-1'), isSagaLogClosedError, 'SagaLogClosedError');
    await rejectsWith(
      log.append([chain('s-2', [started()])[0] as SagaEntry]),
      isSagaLogClosedError,
      'SagaLogClosedError',
    );
    await rejectsWith(log.listUnfinished(), isSagaLogClosedError, 'SagaLogClosedError');
    await log.close();
  });
}
