/**
 * The crash harness's child process, run as `node --import tsx child.ts`. Environment:
 *
 * - `RECOVER`: JSON list of `{ dir, crashAt? }`: first open each directory's log and `recover()` it, as a
 *   fresh process after a crash does; prints `RECOVERED <dir> <json>` for each recovery that finishes;
 * - `RUN`: JSON list of `{ dir, crashAt? }`: then run the scenario sagas, all at once, in each directory.
 *
 * With `crashAt = k` every saga of that directory pauses at its k-th crash point; once every saga of every
 * active directory has paused or finished, the process SIGKILLs itself. Crash points: after every durable
 * log append (each step boundary) and inside every service call, before and after its external effect.
 * A run without `crashAt` finishes and prints `TRACE <dir> <json>`: each saga's crash points in order.
 *
 * The simulated services keep their state in `effects.jsonl` next to the log (appended synchronously, so it
 * survives SIGKILL like a remote system would) and apply each effect at most once per idempotency key.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  defineSaga,
  FileSagaLog,
  type SagaEntry,
  type SagaLog,
  SagaOrchestrator,
  type SagaRecord,
} from '../../../src/saga/index.js';

/** What each scenario saga does; the input tells the services how to behave. */
export interface CrashInput {
  /** The card is declined (a business failure before the pivot: the saga compensates). */
  readonly decline: boolean;
  /** Shipping fails this many times before it works (forward recovery after the pivot). */
  readonly shipFailures: number;
  /** The refund fails this many times before it works. */
  readonly undoFailures: number;
}

export const SCENARIOS: Readonly<Record<string, CrashInput>> = {
  happy: { decline: false, shipFailures: 0, undoFailures: 0 },
  declined: { decline: true, shipFailures: 0, undoFailures: 0 },
  'flaky-ship': { decline: false, shipFailures: 1, undoFailures: 0 },
  'flaky-undo': { decline: true, shipFailures: 0, undoFailures: 1 },
};

/** One line of effects.jsonl. */
export type Effect =
  | { readonly op: 'apply'; readonly key: string; readonly service: string }
  | { readonly op: 'replay'; readonly key: string; readonly service: string }
  | { readonly op: 'undo'; readonly key: string; readonly service: string; readonly noop: boolean }
  | { readonly op: 'refused'; readonly key: string; readonly service: string; readonly why: string }
  | { readonly op: 'transient'; readonly key: string; readonly service: string };

/** fsync mode of the log under test (a SIGKILL loses no written data, so 'never' is as faithful here). */
const SYNC = (process.env.SAGA_SYNC ?? 'group') as 'group' | 'never';

const sleepForever = (): Promise<never> => new Promise<never>(() => undefined);

/** Where one directory is in this process: its sagas and crash point counters. */
class Phase {
  readonly points = new Map<string, string[]>();
  readonly paused = new Set<string>();
  readonly finished = new Set<string>();
  /** Unknown until the directory's log is open: until then the phase is not settled. */
  sagaIds: readonly string[] | undefined;

  constructor(
    readonly dir: string,
    readonly crashAt: number | undefined,
  ) {}

  /** The phase's work ran to its end (and reported it). */
  done = false;

  /** Finished and reported, or every saga paused or finished with at least one paused. */
  settled(): boolean {
    if (this.done) return true;
    if (this.paused.size === 0) return false;
    return this.sagaIds?.every((id) => this.paused.has(id) || this.finished.has(id)) === true;
  }

  end(): void {
    this.done = true;
    maybeDie();
  }

  finish(sagaId: string): void {
    this.finished.add(sagaId);
    maybeDie();
  }

  /** A crash point of one saga: pauses forever at the k-th one; the process dies once all have settled. */
  async point(sagaId: string, label: string): Promise<void> {
    const list = this.points.get(sagaId) ?? [];
    list.push(label);
    this.points.set(sagaId, list);
    if (this.crashAt !== undefined && list.length === this.crashAt) {
      this.paused.add(sagaId);
      maybeDie();
      await sleepForever();
    }
  }
}

const active = new Set<Phase>();

function maybeDie(): void {
  let paused = false;
  for (const phase of active) {
    if (!phase.settled()) return;
    if (phase.paused.size > 0) paused = true;
  }
  if (paused) process.kill(process.pid, 'SIGKILL');
}

const sagaOf = (key: string): string => key.slice(0, key.lastIndexOf(':'));

/** The external systems: durable, idempotent by key, with a crash point on each side of every effect. */
class Services {
  readonly #phase: Phase;
  readonly #file: string;
  readonly #applied = new Set<string>();
  readonly #undone = new Set<string>();
  readonly #transient = new Map<string, number>();

  constructor(phase: Phase) {
    this.#phase = phase;
    this.#file = join(phase.dir, 'effects.jsonl');
    if (!existsSync(this.#file)) return;
    for (const line of readFileSync(this.#file, 'utf8').split('\n')) {
      if (line === '') continue;
      const e = JSON.parse(line) as Effect;
      if (e.op === 'apply') this.#applied.add(e.key);
      if (e.op === 'undo') this.#undone.add(e.key);
      if (e.op === 'transient') this.#transient.set(e.key, (this.#transient.get(e.key) ?? 0) + 1);
    }
  }

  #write(effect: Effect): void {
    appendFileSync(this.#file, `${JSON.stringify(effect)}\n`);
  }

  async apply(service: string, key: string, failFirst = 0): Promise<{ readonly ref: string }> {
    await this.#phase.point(sagaOf(key), `before ${service}`);
    if (this.#undone.has(key)) {
      this.#write({ op: 'refused', key, service, why: 'already compensated' });
      throw new Error(`${service}: ${key} was compensated`);
    }
    if ((this.#transient.get(key) ?? 0) < failFirst) {
      this.#transient.set(key, (this.#transient.get(key) ?? 0) + 1);
      this.#write({ op: 'transient', key, service });
      await this.#phase.point(sagaOf(key), `after ${service} (transient failure)`);
      throw new Error(`${service}: temporarily unavailable`);
    }
    if (this.#applied.has(key)) this.#write({ op: 'replay', key, service });
    else {
      this.#applied.add(key);
      this.#write({ op: 'apply', key, service });
    }
    await this.#phase.point(sagaOf(key), `after ${service}`);
    return { ref: `${service}:${key}` };
  }

  async decline(service: string, key: string): Promise<never> {
    await this.#phase.point(sagaOf(key), `before ${service}`);
    await this.#phase.point(sagaOf(key), `after ${service} (declined)`);
    const error = new Error('card declined') as Error & { code: string };
    error.code = 'E_CARD_DECLINED';
    throw error;
  }

  async undo(service: string, key: string, failFirst = 0): Promise<void> {
    const undoKey = `${key}#undo`;
    await this.#phase.point(sagaOf(key), `before undo ${service}`);
    if ((this.#transient.get(undoKey) ?? 0) < failFirst) {
      this.#transient.set(undoKey, (this.#transient.get(undoKey) ?? 0) + 1);
      this.#write({ op: 'transient', key: undoKey, service });
      await this.#phase.point(sagaOf(key), `after undo ${service} (transient failure)`);
      throw new Error(`${service}: temporarily unavailable`);
    }
    if (!this.#undone.has(key)) {
      this.#undone.add(key);
      this.#write({ op: 'undo', key, service, noop: !this.#applied.has(key) });
    }
    await this.#phase.point(sagaOf(key), `after undo ${service}`);
  }
}

/** The checkout saga of the harness: a parallel group before the pivot, retriable steps after it. */
export function crashSaga(services: Services) {
  const fast = { backoff: { initial: 1, max: 1, jitter: 'none' as const } };
  return defineSaga<CrashInput>('crash-checkout', { compensationRetry: { maxAttempts: 5, ...fast } })
    .parallel((g) =>
      g
        .step('reserve', {
          run: ({ idempotencyKey }) => services.apply('stock', idempotencyKey),
          compensate: ({ idempotencyKey }) => services.undo('stock', idempotencyKey),
        })
        .step('points', {
          run: ({ idempotencyKey }) => services.apply('loyalty', idempotencyKey),
          compensate: ({ idempotencyKey }) => services.undo('loyalty', idempotencyKey),
        }),
    )
    .step('charge', {
      run: ({ idempotencyKey, input }) =>
        input.decline ? services.decline('payments', idempotencyKey) : services.apply('payments', idempotencyKey),
      compensate: ({ idempotencyKey, input }) => services.undo('payments', idempotencyKey, input.undoFailures),
    })
    .pivot('confirm', { run: ({ idempotencyKey }) => services.apply('orders', idempotencyKey) })
    .step('ship', {
      run: ({ idempotencyKey, input }) => services.apply('shipping', idempotencyKey, input.shipFailures),
      retry: { maxAttempts: 5, ...fast },
    })
    .step('notify', { run: ({ idempotencyKey }) => services.apply('email', idempotencyKey) })
    .build();
}

/** A log whose every durable append is a crash point (the step boundaries). */
function withBoundaries(log: SagaLog, phase: Phase): SagaLog {
  return {
    append: async (entries: readonly SagaEntry[]) => {
      const version = await log.append(entries);
      const what = entries.map((e) => `${e.type}${'step' in e ? ` ${e.step}` : ''}`).join(' + ');
      await phase.point((entries[0] as SagaEntry).sagaId, `after ${what}`);
      return version;
    },
    read: (sagaId: string): Promise<readonly SagaRecord[]> => log.read(sagaId),
    claim: (sagaId, owner, leaseMs) => log.claim(sagaId, owner, leaseMs),
    release: (sagaId, owner) => log.release(sagaId, owner),
    listUnfinished: () => log.listUnfinished(),
    close: () => log.close(),
  };
}

interface Target {
  readonly dir: string;
  readonly crashAt?: number;
}

async function recover(phase: Phase): Promise<void> {
  const log = await FileSagaLog.open(join(phase.dir, 'sagas.jsonl'), { sync: SYNC });
  const orchestrator = new SagaOrchestrator({
    log: withBoundaries(log, phase),
    owner: `recoverer-${process.pid}`,
    sagas: [crashSaga(new Services(phase))],
  });
  orchestrator.onSagaCompleted((e) => phase.finish(e.sagaId));
  orchestrator.onSagaCompensated((e) => phase.finish(e.sagaId));
  phase.sagaIds = await log.listUnfinished();
  const report = await orchestrator.recover();
  await log.close();
  const summary = {
    tornBytes: log.opened.tornBytes,
    results: report.results.map((r) => ({ sagaId: r.sagaId, status: r.status })),
    skipped: report.skipped,
    failed: report.failed.map((f) => ({ sagaId: f.sagaId, error: String(f.error) })),
  };
  process.stdout.write(`RECOVERED ${phase.dir} ${JSON.stringify(summary)}\n`);
  phase.end();
}

async function run(phase: Phase): Promise<void> {
  const log = await FileSagaLog.open(join(phase.dir, 'sagas.jsonl'), { sync: SYNC });
  const orchestrator = new SagaOrchestrator({ log: withBoundaries(log, phase), owner: `runner-${process.pid}` });
  const saga = crashSaga(new Services(phase));
  phase.sagaIds = Object.keys(SCENARIOS);
  await Promise.all(
    Object.entries(SCENARIOS).map(async ([sagaId, input]) => {
      await orchestrator.run(saga, input, { sagaId });
      phase.finish(sagaId);
    }),
  );
  await log.close();
  process.stdout.write(`TRACE ${phase.dir} ${JSON.stringify(Object.fromEntries(phase.points))}\n`);
  phase.end();
}

/** The phases of one stage, registered before any starts so that none is killed before it began. */
function stage(name: string): Phase[] {
  const list = (JSON.parse(process.env[name] ?? '[]') as Target[]).map((t) => new Phase(t.dir, t.crashAt));
  active.clear();
  for (const phase of list) active.add(phase);
  return list;
}

// Recoveries first, all of them, so that a crash of the runs never cuts a recovery short.
await Promise.all(stage('RECOVER').map(recover));
await Promise.all(stage('RUN').map(run));
