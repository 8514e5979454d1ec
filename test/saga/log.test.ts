import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isValidationError, ManualClock, sha256Hex } from '../../src/core/index.js';
import {
  defineSaga,
  FileSagaLog,
  isSagaLogCorruptError,
  isSagaLogLockedError,
  MemorySagaLog,
  runSagaLogContract,
  SAGA_GENESIS_HASH,
  type SagaEntry,
  SagaOrchestrator,
  verifySagaRecords,
} from '../../src/saga/index.js';

const root = mkdtempSync(join(tmpdir(), 'sdb-saga-log-'));
let files = 0;
const freshPath = (): string => join(root, `log-${files++}.jsonl`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('MemorySagaLog', () => {
  runSagaLogContract(it, ({ clock }) => new MemorySagaLog({ clock }));

  it('drops the oldest finished sagas beyond maxFinishedSagas, never an unfinished one', async () => {
    const log = new MemorySagaLog({ maxFinishedSagas: 2 });
    const start = (sagaId: string): SagaEntry => ({
      sagaId,
      seq: 0,
      at: 0,
      owner: 'o',
      type: 'saga_started',
      saga: 's',
      steps: [],
    });
    for (const id of ['a', 'b', 'c', 'open']) await log.append([start(id)]);
    for (const id of ['a', 'b', 'c'])
      await log.append([{ sagaId: id, seq: 1, at: 0, owner: 'o', type: 'saga_completed' }]);
    expect(await log.read('a')).toEqual([]);
    expect(await log.read('b')).toHaveLength(2);
    expect(await log.read('c')).toHaveLength(2);
    expect(await log.listUnfinished()).toEqual(['open']);
  });

  it('rejects bad options', () => {
    expect(() => new MemorySagaLog({ maxFinishedSagas: 0 })).toThrow(/maxFinishedSagas/);
    expect(() => new MemorySagaLog({ clock: {} as never })).toThrow(/clock/);
    expect(new MemorySagaLog({ maxFinishedSagas: Number.POSITIVE_INFINITY })).toBeInstanceOf(MemorySagaLog);
  });
});

describe('FileSagaLog', () => {
  for (const sync of ['group', 'always', 'never'] as const) {
    describe(`sync: ${sync}`, () => {
      runSagaLogContract(it, ({ clock }) => FileSagaLog.open(freshPath(), { clock, sync }));
    });
  }

  const saga = defineSaga<{ n: number }>('file')
    .step('a', { run: ({ input }) => ({ doubled: input.n * 2 }), compensate: () => {} })
    .step('b', { run: ({ outputs }) => outputs.a.doubled + 1, compensate: () => {} })
    .build();

  it('keeps every record across a reopen, finished sagas included', async () => {
    const path = freshPath();
    const first = await FileSagaLog.open(path);
    const orchestrator = new SagaOrchestrator({ log: first, owner: 'one' });
    for (let n = 0; n < 5; n++) await orchestrator.run(saga, { n }, { sagaId: `s-${n}` });
    const before = await Promise.all([0, 1, 2, 3, 4].map((n) => first.read(`s-${n}`)));
    await first.close();
    const second = await FileSagaLog.open(path);
    expect(second.opened).toEqual({ records: 30, sagas: 5, unfinished: 0, tornBytes: 0 });
    for (let n = 0; n < 5; n++) {
      const records = await second.read(`s-${n}`);
      expect(records).toEqual(before[n]);
      expect(verifySagaRecords(records).ok).toBe(true);
    }
    await second.close();
  });

  it('appends from many sagas at once share fsyncs and stay in per-saga order', async () => {
    const path = freshPath();
    const log = await FileSagaLog.open(path, { sync: 'group' });
    const orchestrator = new SagaOrchestrator({ log, owner: 'many' });
    await Promise.all(Array.from({ length: 40 }, (_, n) => orchestrator.run(saga, { n }, { sagaId: `p-${n}` })));
    await log.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(40 * 6);
    const reopened = await FileSagaLog.open(path);
    for (let n = 0; n < 40; n++) {
      const records = await reopened.read(`p-${n}`);
      expect(records.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(verifySagaRecords(records).ok).toBe(true);
    }
    await reopened.close();
  });

  it('writes records larger than its write buffer and non-ASCII text byte-exact, in every sync mode', async () => {
    const big = 'x'.repeat(300_000); // several times the first buffer, so it grows mid-append
    const text = 'café ☕ 注文 🚚 "quoted" \\ \u2028';
    for (const sync of ['group', 'always', 'never'] as const) {
      const path = freshPath();
      const log = await FileSagaLog.open(path, { sync });
      const entry = (sagaId: string, seq: number, output: unknown): SagaEntry =>
        ({ sagaId, seq, at: seq, owner: 'ö', type: 'step_completed', step: 'é', output }) as SagaEntry;
      // Many sagas at once, so the large lines share a write with small ones.
      await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          log.append([entry(`s-${n}`, 0, n % 5 === 0 ? { big, text } : { text, n }), entry(`s-${n}`, 1, { n })]),
        ),
      );
      const live = await Promise.all(Array.from({ length: 20 }, (_, n) => log.read(`s-${n}`)));
      await log.close();
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(40);
      for (const line of lines) expect(JSON.parse(line)).toHaveProperty('hash'); // every line whole
      const reopened = await FileSagaLog.open(path);
      for (let n = 0; n < 20; n++) {
        const records = await reopened.read(`s-${n}`);
        expect(records).toEqual(live[n]);
        expect(records[0]?.type === 'step_completed' && records[0].output).toEqual(
          n % 5 === 0 ? { big, text } : { text, n },
        );
        // Checked the long way too: a copy is not vouched for, so every record is hashed again.
        expect(verifySagaRecords([...records]).ok).toBe(true);
      }
      await reopened.close();
    }
  });

  it('detects a torn last line, ignores it, cuts it off and appends cleanly after it', async () => {
    for (const tail of ['{"sagaId":"t","seq":2,"at":1,"ow', '\0\0\0\0\0\0\0\0\n', '{"sagaId":"t","se\n']) {
      const path = freshPath();
      const log = await FileSagaLog.open(path);
      await log.append([{ sagaId: 't', seq: 0, at: 1, owner: 'o', type: 'saga_started', saga: 's', steps: ['a'] }]);
      await log.append([{ sagaId: 't', seq: 1, at: 1, owner: 'o', type: 'step_started', step: 'a', attempt: 1 }]);
      await log.close();
      const clean = readFileSync(path);
      appendFileSync(path, tail);
      const reopened = await FileSagaLog.open(path);
      expect(reopened.opened.tornBytes).toBe(Buffer.byteLength(tail));
      expect(readFileSync(path)).toEqual(clean);
      expect(await reopened.read('t')).toHaveLength(2);
      expect(await reopened.listUnfinished()).toEqual(['t']);
      await reopened.append([{ sagaId: 't', seq: 2, at: 1, owner: 'o', type: 'step_completed', step: 'a' }]);
      await reopened.close();
      const third = await FileSagaLog.open(path);
      expect(third.opened.tornBytes).toBe(0);
      const records = await third.read('t');
      expect(records.map((r) => r.type)).toEqual(['saga_started', 'step_started', 'step_completed']);
      expect(verifySagaRecords(records).ok).toBe(true);
      await third.close();
    }
  });

  it('a torn write at any byte of the last line is never misread (property over every cut)', async () => {
    const path = freshPath();
    const log = await FileSagaLog.open(path);
    await log.append([{ sagaId: 'c', seq: 0, at: 1, owner: 'o', type: 'saga_started', saga: 's', steps: ['a'] }]);
    await log.append([
      { sagaId: 'c', seq: 1, at: 2, owner: 'o', type: 'step_completed', step: 'a', output: { x: 'ü' } },
    ]);
    await log.close();
    const full = readFileSync(path);
    const lastStart = full.lastIndexOf(0x0a, full.length - 2) + 1;
    for (let cut = lastStart; cut < full.length; cut++) {
      writeFileSync(path, full.subarray(0, cut));
      const reopened = await FileSagaLog.open(path);
      const records = await reopened.read('c');
      expect(records.map((r) => r.seq)).toEqual([0]);
      expect(reopened.opened.tornBytes).toBe(cut - lastStart);
      await reopened.close();
    }
  });

  it('refuses a damaged line that is not the last, rather than guessing', async () => {
    const path = freshPath();
    const log = await FileSagaLog.open(path);
    for (let seq = 0; seq < 3; seq++) {
      await log.append([{ sagaId: 'm', seq, at: 1, owner: 'o', type: 'step_started', step: 'a', attempt: seq + 1 }]);
    }
    await log.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[1] = (lines[1] as string).slice(0, 20);
    writeFileSync(path, lines.join('\n'));
    const error: unknown = await FileSagaLog.open(path).catch((e: unknown) => e);
    expect(isSagaLogCorruptError(error)).toBe(true);
    if (isSagaLogCorruptError(error)) expect(error.position).toBe(2);
    // The lock was released: after a repair the file opens again.
    truncateSync(path, 0);
    const repaired = await FileSagaLog.open(path);
    await repaired.close();
  });

  it('a line whose hash covers its own bytes but that is not canonical JSON gets the same verdict either way', async () => {
    // Repeated key: JSON.parse keeps the last, the canonical text of what it parsed differs from the line.
    const path = freshPath();
    const body = `{"at":1,"owner":"o","prev":"${SAGA_GENESIS_HASH}","saga":"s","sagaId":"x","seq":0,"steps":["a"],"steps":["a","b"],"type":"saga_started"`;
    writeFileSync(path, `${body},"hash":"${sha256Hex(`${body}}`)}"}\n`);
    const log = await FileSagaLog.open(path);
    const records = await log.read('x');
    const direct = verifySagaRecords(records);
    const copied = verifySagaRecords([...records]);
    expect(direct).toEqual(copied);
    expect(direct.ok ? undefined : direct.problem).toBe('edited');
    await log.close();
  });

  it('two appends of one saga in one write resolve with their own versions', async () => {
    for (const sync of ['group', 'never'] as const) {
      const log = await FileSagaLog.open(freshPath(), { sync });
      const entry = (seq: number): SagaEntry =>
        seq === 0
          ? { sagaId: 'v', seq, at: seq, owner: 'o', type: 'saga_started', saga: 's', steps: ['a'] }
          : { sagaId: 'v', seq, at: seq, owner: 'o', type: 'step_started', step: 'a', attempt: seq };
      // Queued in one turn: one write carries all three.
      const versions = await Promise.all([
        log.append([entry(0), entry(1)]),
        log.append([entry(2)]),
        log.append([entry(3)]),
      ]);
      expect(versions).toEqual([2, 3, 4]);
      await log.close();
    }
  });

  it('a finished saga written to again is unfinished and reads back whole', async () => {
    const path = freshPath();
    const log = await FileSagaLog.open(path);
    const meta = (seq: number) => ({ sagaId: 'again', seq, at: seq, owner: 'o' });
    await log.append([
      { ...meta(0), type: 'saga_started', saga: 's', steps: [] },
      { ...meta(1), type: 'saga_completed' },
    ]);
    expect(await log.listUnfinished()).toEqual([]);
    expect(await log.append([{ ...meta(2), type: 'saga_resumed' }])).toBe(3);
    expect(await log.listUnfinished()).toEqual(['again']);
    const records = await log.read('again');
    expect(records.map((r) => r.type)).toEqual(['saga_started', 'saga_completed', 'saga_resumed']);
    expect(verifySagaRecords(records).ok).toBe(true);
    await log.close();
  });

  it('recover() refuses to drive a saga whose line in the file was edited, and runs none of its steps', async () => {
    const calls: string[] = [];
    const watched = defineSaga<{ n: number }>('file')
      .step('a', { run: ({ input }) => ({ doubled: input.n * 2 }), compensate: () => {} })
      .step('b', { run: () => void calls.push('b'), compensate: () => {} })
      .build();
    const path = freshPath();
    const first = await FileSagaLog.open(path);
    // A crash after step a completed: started, a started, a completed (with b's start), nothing after.
    const meta = (seq: number) => ({ sagaId: 'e', seq, at: seq, owner: 'o' });
    await first.append([
      { ...meta(0), type: 'saga_started', saga: 'file', steps: ['a', 'b'], input: { n: 4 } },
      { ...meta(1), type: 'step_started', step: 'a', attempt: 1 },
    ]);
    await first.append([{ ...meta(2), type: 'step_completed', step: 'a', output: { doubled: 8 } }]);
    await first.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, lines.map((l, i) => (i === 2 ? l.replace('"doubled":8', '"doubled":9') : l)).join('\n'));
    const log = await FileSagaLog.open(path);
    const orchestrator = new SagaOrchestrator({ log, owner: 'next', sagas: [watched] });
    const report = await orchestrator.recover();
    expect(report.failed.map((f) => isSagaLogCorruptError(f.error))).toEqual([true]);
    expect(calls).toEqual([]);
    await log.close();
  });

  it('verifyLog detects a record edited, removed or moved in the file', async () => {
    const edits: Record<string, (lines: string[]) => string[]> = {
      edited: (lines) => lines.map((l, i) => (i === 2 ? l.replace('"doubled":8', '"doubled":9') : l)),
      removed: (lines) => lines.filter((_, i) => i !== 3),
      moved: (lines) => [lines[0], lines[1], lines[3], lines[2], ...lines.slice(4)] as string[],
      'tail removed': (lines) => lines.slice(0, -2),
    };
    for (const [name, edit] of Object.entries(edits)) {
      const path = freshPath();
      const log = await FileSagaLog.open(path);
      const orchestrator = new SagaOrchestrator({ log, owner: 'audit' });
      await orchestrator.run(saga, { n: 4 }, { sagaId: 'audited' });
      const anchored = await orchestrator.verifyLog('audited');
      expect(anchored.ok).toBe(true);
      await log.close();
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      const edited = edit(lines);
      expect(edited).not.toEqual(lines);
      writeFileSync(path, `${edited.join('\n')}\n`);
      const reopened = await FileSagaLog.open(path);
      const auditor = new SagaOrchestrator({ log: reopened, owner: 'auditor' });
      const head = anchored.ok ? anchored.head : '';
      const verdict = await auditor.verifyLog('audited', { expectedHead: head });
      expect([name, verdict.ok]).toEqual([name, false]);
      await reopened.close();
    }
  });

  it("one live process per file: a second open is refused, a dead owner's lock is taken over", async () => {
    const path = freshPath();
    const log = await FileSagaLog.open(path);
    await expect(FileSagaLog.open(path)).rejects.toSatisfy(isSagaLogLockedError);
    await log.close();
    const again = await FileSagaLog.open(path);
    await again.close();
    writeFileSync(`${path}.lock`, String(process.ppid));
    await expect(FileSagaLog.open(path)).rejects.toSatisfy(isSagaLogLockedError);
    writeFileSync(`${path}.lock`, '2147483646'); // no such process
    const takenOver = await FileSagaLog.open(path);
    await takenOver.close();
  });

  it('rejects bad arguments', async () => {
    await expect(FileSagaLog.open('')).rejects.toSatisfy(isValidationError);
    await expect(FileSagaLog.open(freshPath(), { sync: 'sometimes' as never })).rejects.toSatisfy(isValidationError);
    await expect(FileSagaLog.open(freshPath(), { clock: 1 as never })).rejects.toSatisfy(isValidationError);
  });

  it('leases follow the clock it was given', async () => {
    const clock = new ManualClock();
    const log = await FileSagaLog.open(freshPath(), { clock });
    expect((await log.claim('s', 'a', 100)).acquired).toBe(true);
    expect((await log.claim('s', 'b', 100)).acquired).toBe(false);
    clock.advance(101);
    expect((await log.claim('s', 'b', 100)).acquired).toBe(true);
    await log.close();
  });
});

describe('both logs', () => {
  const logs = [
    ['MemorySagaLog', async () => new MemorySagaLog()],
    ['FileSagaLog', async () => FileSagaLog.open(freshPath())],
  ] as const;

  for (const [name, open] of logs) {
    it(`${name}: what it stores cannot change afterwards, even under a frozen entry`, async () => {
      const log = await open();
      const inner = { n: 1 };
      const deeper = { n: 1 };
      const output = { amount: 10, inner };
      await log.append([{ sagaId: 'm', seq: 0, at: 1, owner: 'o', type: 'saga_started', saga: 's', steps: ['a'] }]);
      // Frozen at the top (and the output too), but what is deeper is still the caller's, and mutable.
      await log.append([
        Object.freeze({ sagaId: 'm', seq: 1, at: 1, owner: 'o', type: 'step_completed', step: 'a', output }),
        Object.freeze({
          sagaId: 'm',
          seq: 2,
          at: 1,
          owner: 'o',
          type: 'step_completed',
          step: 'b',
          output: Object.freeze({ inner: deeper }),
        }),
      ]);
      expect(() => {
        output.amount = 999;
      }).toThrow(TypeError);
      expect(() => {
        inner.n = 2;
      }).toThrow(TypeError);
      expect(() => {
        deeper.n = 2;
      }).toThrow(TypeError);
      const records = await log.read('m');
      expect(records[1]?.type === 'step_completed' && records[1].output).toEqual({ amount: 10, inner: { n: 1 } });
      expect(records[2]?.type === 'step_completed' && records[2].output).toEqual({ inner: { n: 1 } });
      expect(verifySagaRecords(records).ok).toBe(true);
      expect(verifySagaRecords([...records]).ok).toBe(true);
      await log.close();
    });

    it(`${name}: refuses an entry that is not a plain object, and stores nothing`, async () => {
      const log = await open();
      const inherited = Object.assign(Object.create({ step: 'a', attempt: 1 }) as object, {
        sagaId: 'p',
        seq: 0,
        at: 1,
        owner: 'o',
        type: 'step_started',
      }) as SagaEntry;
      await expect(log.append([inherited])).rejects.toThrow(/plain object/);
      expect(await log.read('p')).toEqual([]);
      await log.close();
    });
  }
});
