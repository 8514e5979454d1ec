import { ManualClock } from '../../src/core/index.js';
import {
  MemorySagaLog,
  type SagaEntry,
  type SagaLog,
  SagaOrchestrator,
  type SagaOrchestratorOptions,
  type SagaRecord,
} from '../../src/saga/index.js';

/** Advances `clock` until `promise` settles (backoffs, timeouts and lease renewals all run on it). */
export async function drain<T>(clock: ManualClock, promise: Promise<T>, stepMs = 250, maxSteps = 4_000): Promise<T> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < maxSteps && !done; i++) await clock.advanceAsync(stepMs);
  return promise;
}

/** A promise with its resolvers, for steps that wait on the test. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A business failure with a code, like a payment provider's. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message = code,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** Everything a test needs around one orchestrator. */
export interface Rig {
  readonly clock: ManualClock;
  readonly log: MemorySagaLog;
  readonly orchestrator: SagaOrchestrator;
  /** Every entry the orchestrator wrote, in order. */
  readonly entries: SagaEntry[];
}

export function rig(options: Partial<SagaOrchestratorOptions> = {}): Rig {
  const clock = new ManualClock();
  const log = new MemorySagaLog({ clock });
  let now = Date.UTC(2026, 0, 1);
  const orchestrator = new SagaOrchestrator({ log, clock, owner: 'test', timestamp: () => now++, ...options });
  const entries: SagaEntry[] = [];
  orchestrator.onEntry((e) => entries.push(e));
  return { clock, log, orchestrator, entries };
}

/** `type` or `type:step` of each record, for readable assertions on the log. */
export function trail(records: readonly (SagaRecord | SagaEntry)[]): string[] {
  return records.map((r) =>
    'step' in r &&
    r.type !== 'saga_compensating' &&
    r.type !== 'saga_compensated' &&
    r.type !== 'saga_needs_intervention'
      ? `${r.type}:${r.step}`
      : r.type,
  );
}

/** A SagaLog wrapper whose `read` can be rewritten by a test (to simulate a tampered store). */
export function tamperable(inner: SagaLog, edit: (records: readonly SagaRecord[]) => readonly SagaRecord[]): SagaLog {
  return {
    append: (entries) => inner.append(entries),
    read: async (sagaId) => edit(await inner.read(sagaId)),
    claim: (sagaId, owner, leaseMs) => inner.claim(sagaId, owner, leaseMs),
    release: (sagaId, owner) => inner.release(sagaId, owner),
    listUnfinished: () => inner.listUnfinished(),
    close: () => inner.close(),
  };
}
