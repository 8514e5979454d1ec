/**
 * The crash harness. Child processes (`crash/child.ts`) run checkout sagas against a FileSagaLog and
 * simulated services that record their effects by idempotency key; each is SIGKILLed at a chosen crash
 * point: after every durable log append (each step boundary) and inside every service call, before and after
 * its external effect. A new process then runs `recover()`, and the invariants are checked for every point:
 * every saga ends terminal, no effect is applied twice for one key, a compensation runs only for a step that
 * started (and undoes something only where an effect happened), nothing after the pivot is compensated.
 *
 * The crash points come from a traced run, so every point of every saga is covered: crash index k pauses
 * every saga at its k-th point. To keep the number of processes down, one child carries several
 * directories (each with its own log, services and crash index) and dies once every saga in all of them
 * has paused; the next child recovers those directories and runs the next ones. A few directories are
 * also killed again in the middle of their recovery, then recovered once more.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSagaLog, isTerminalSagaRecord, type SagaRecord, verifySagaRecords } from '../../src/saga/index.js';
import { type Effect, SCENARIOS } from './crash/child.js';

const CHILD = fileURLToPath(new URL('./crash/child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PER_CHILD = 7;

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function child(env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Lines `<tag> <dir> <json>` of a child's output, by directory. */
function tagged(stdout: string, tag: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(`${tag} `)) continue;
    const rest = line.slice(tag.length + 1);
    const space = rest.indexOf(' ');
    out.set(rest.slice(0, space), JSON.parse(rest.slice(space + 1)));
  }
  return out;
}

const STEP_OF_SERVICE: Readonly<Record<string, string>> = {
  stock: 'reserve',
  loyalty: 'points',
  payments: 'charge',
  orders: 'confirm',
  shipping: 'ship',
  email: 'notify',
};
const COMPENSATABLE = new Set(['reserve', 'points', 'charge']);
const EXPECTED: Readonly<Record<string, 'completed' | 'compensated'>> = {
  happy: 'completed',
  declined: 'compensated',
  'flaky-ship': 'completed',
  'flaky-undo': 'compensated',
};

/** Every invariant of the issue for one directory after its last recovery; returns the violations. */
async function violations(dir: string): Promise<string[]> {
  const found: string[] = [];
  const log = await FileSagaLog.open(join(dir, 'sagas.jsonl'));
  const records = new Map<string, readonly SagaRecord[]>();
  try {
    for (const sagaId of Object.keys(SCENARIOS)) records.set(sagaId, await log.read(sagaId));
    if ((await log.listUnfinished()).length > 0) found.push(`unfinished: ${(await log.listUnfinished()).join(', ')}`);
  } finally {
    await log.close();
  }
  let effects: Effect[] = [];
  try {
    effects = readFileSync(join(dir, 'effects.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Effect);
  } catch {
    effects = [];
  }
  const applied = new Map<string, number>();
  const undone = new Map<string, Effect[]>();
  for (const [i, e] of effects.entries()) {
    const step = e.key.slice(e.key.lastIndexOf(':') + 1).replace('#undo', '');
    if (STEP_OF_SERVICE[e.service] !== step) found.push(`effect ${i} of ${e.service} under unexpected key ${e.key}`);
    if (e.op === 'refused') found.push(`effect ${i}: ${e.service} refused ${e.key}: ${e.why}`);
    if (e.op === 'apply') applied.set(e.key, (applied.get(e.key) ?? 0) + 1);
    if (e.op === 'undo') {
      undone.set(e.key, [...(undone.get(e.key) ?? []), e]);
      if (!e.noop && !applied.has(e.key)) found.push(`effect ${i}: ${e.key} undone before it was applied`);
      if (e.noop && applied.has(e.key)) found.push(`effect ${i}: ${e.key} marked no-op although applied`);
    }
  }
  for (const [key, n] of applied) if (n > 1) found.push(`${key} applied ${n} times`);
  for (const [key, list] of undone) if (list.length > 1) found.push(`${key} undone ${list.length} times`);
  for (const [sagaId, list] of records) {
    if (list.length === 0) {
      found.push(`${sagaId}: not in the log`);
      continue;
    }
    const verdict = verifySagaRecords(list, { sagaId });
    if (!verdict.ok) found.push(`${sagaId}: ${verdict.message}`);
    const last = list.at(-1) as SagaRecord;
    if (!isTerminalSagaRecord(last)) found.push(`${sagaId}: ends with ${last.type}`);
    const status = last.type === 'saga_completed' ? 'completed' : last.type === 'saga_compensated' ? 'compensated' : '';
    if (status !== EXPECTED[sagaId])
      found.push(`${sagaId}: ended ${status || last.type}, expected ${EXPECTED[sagaId]}`);
    const started = new Set(list.flatMap((r) => (r.type === 'step_started' ? [r.step] : [])));
    for (const step of Object.values(STEP_OF_SERVICE)) {
      const key = `${sagaId}:${step}`;
      const isApplied = applied.has(key);
      const undo = undone.get(key)?.[0];
      if (undo !== undefined && !COMPENSATABLE.has(step)) found.push(`${key}: compensated after the pivot`);
      if (undo !== undefined && !started.has(step)) found.push(`${key}: compensated but never started`);
      if (status === 'completed') {
        if (!isApplied) found.push(`${key}: completed saga without this effect`);
        if (undo !== undefined) found.push(`${key}: completed saga with a compensation`);
      }
      if (status === 'compensated') {
        if (!COMPENSATABLE.has(step) && isApplied) found.push(`${key}: applied in a compensated saga`);
        if (COMPENSATABLE.has(step) && isApplied && (undo === undefined || undo.op !== 'undo' || undo.noop)) {
          found.push(`${key}: applied and never undone in a compensated saga`);
        }
      }
    }
  }
  return found;
}

describe('crash harness (SIGKILL at every crash point, recovery in a new process)', () => {
  const root = mkdtempSync(join(tmpdir(), 'sdb-saga-crash-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('every saga ends consistent, whatever point the process died at', { timeout: 180_000 }, async () => {
    // 1. Trace one clean run: the crash points of every saga.
    const traceDir = join(root, 'trace');
    mkdirSync(traceDir);
    const traced = await child({ RUN: JSON.stringify([{ dir: traceDir }]) });
    expect(traced.code, traced.stderr).toBe(0);
    const trace = tagged(traced.stdout, 'TRACE').get(traceDir) as Record<string, string[]>;
    expect(Object.keys(trace).sort()).toEqual(Object.keys(SCENARIOS).sort());
    const labels = new Set(
      Object.values(trace)
        .flat()
        .map((l) => l.split(' ')[0]),
    );
    expect([...labels].sort()).toEqual(['after', 'before']);
    expect(
      Object.values(trace)
        .flat()
        .some((l) => l.startsWith('after step_completed')),
    ).toBe(true);
    expect(
      Object.values(trace)
        .flat()
        .some((l) => l.startsWith('after compensation_started')),
    ).toBe(true);
    expect(await violations(traceDir)).toEqual([]);
    const longest = Math.max(...Object.values(trace).map((points) => points.length));

    // 2. One directory per crash index; three of them are killed again during their first recovery.
    interface Dir {
      readonly dir: string;
      readonly crashAt: number;
      recoverCrashAt: number | undefined;
      stage: 'run' | 'recover' | 'done';
    }
    const dirs: Dir[] = Array.from({ length: longest }, (_, i) => {
      const dir = join(root, `k${i + 1}`);
      mkdirSync(dir);
      const k = i + 1;
      const recoverCrashAt = k === 6 ? 1 : k === 13 ? 3 : k === 21 ? 2 : undefined;
      return { dir, crashAt: k, recoverCrashAt, stage: 'run' };
    });
    let children = 0;
    let killed = 0;
    for (;;) {
      const recover = dirs.filter((d) => d.stage === 'recover');
      const run = dirs.filter((d) => d.stage === 'run').slice(0, PER_CHILD);
      if (recover.length === 0 && run.length === 0) break;
      const outcome = await child({
        RECOVER: JSON.stringify(
          recover.map((d) =>
            d.recoverCrashAt === undefined ? { dir: d.dir } : { dir: d.dir, crashAt: d.recoverCrashAt },
          ),
        ),
        RUN: JSON.stringify(run.map((d) => ({ dir: d.dir, crashAt: d.crashAt }))),
      });
      children++;
      if (outcome.signal === 'SIGKILL') killed++;
      else expect(outcome.code, outcome.stderr).toBe(0);
      const recovered = tagged(outcome.stdout, 'RECOVERED');
      for (const d of recover) {
        const report = recovered.get(d.dir) as { failed: unknown[]; skipped: unknown[] } | undefined;
        if (report !== undefined) {
          expect(report.failed, d.dir).toEqual([]);
          expect(report.skipped, d.dir).toEqual([]);
          d.stage = 'done';
        } else {
          // Killed during this recovery, as asked: the next process recovers it again.
          expect(d.recoverCrashAt, `${d.dir} recovery did not finish`).toBeDefined();
          d.recoverCrashAt = undefined;
        }
      }
      // Runs only start once every recovery has finished: a child killed during recovery ran none.
      const ranAny = recover.every((d) => d.stage === 'done');
      if (ranAny) for (const d of run) d.stage = 'recover';
    }
    expect(killed).toBeGreaterThanOrEqual(Math.ceil(longest / PER_CHILD));

    // 3. Every invariant, for every crash point.
    const report: Record<string, string[]> = {};
    for (const d of dirs) {
      const found = await violations(d.dir);
      if (found.length > 0) report[`crash at point ${d.crashAt}`] = found;
    }
    expect(report).toEqual({});
    expect(children).toBeLessThan(longest);
  });
});
