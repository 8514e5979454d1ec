/**
 * The saga log: the interface every store implements, and the in-memory default.
 */
import { type Clock, systemClock } from '../core/index.js';
import { assertNonEmptyString, invalid, optionsObject } from '../core/validation.js';
import { SagaLogClosedError, SagaLogConflictError } from './errors.js';
import { assertEntries, deepFreeze, SagaLeaseTable } from './internal.js';
import {
  isTerminalSagaRecord,
  SAGA_GENESIS_HASH,
  type SagaEntry,
  type SagaRecord,
  sealCanonical,
  vouchFor,
} from './records.js';

/** The answer to a {@link SagaLog.claim}. */
export type SagaClaim =
  | {
      /** The caller holds the lease until `expiresAt`. */
      readonly acquired: true;
      /** The caller. */
      readonly owner: string;
      /** End of the lease on the log's clock, in ms. */
      readonly expiresAt: number;
    }
  | {
      /** Someone else holds a lease that has not expired. */
      readonly acquired: false;
      /** The holder. */
      readonly owner: string;
      /** End of the holder's lease on the log's clock, in ms. */
      readonly expiresAt: number;
    };

/**
 * Where sagas keep their records: an append-only list per saga with optimistic concurrency, a SHA-256 chain
 * over each saga's records, leases so that two recoverers never drive one saga, and the list of unfinished
 * sagas. Every operation is async and atomic on its own. Any implementation must pass
 * {@link runSagaLogContract}.
 *
 * The log is the notary: it seals each entry into a record with {@link sealSagaRecord} (a durable log when
 * it writes; a memory log may wait until someone reads) and returns records as immutable JSON.
 */
export interface SagaLog {
  /**
   * Appends entries of one saga, all or none, when the first one's `seq` equals the saga's current version
   * (its number of records); resolves with the new version once they are durable. A saga starts when its
   * entry 0 is appended. The orchestrator writes a step's `step_completed` together with the next
   * `step_started`, so one call often carries two entries. (A crash during the write may leave a prefix of
   * an append that was never acknowledged; every entry stands on its own, so any prefix is a valid state.)
   *
   * @throws {@link SagaLogConflictError} when the version differs (nothing written);
   *   {@link ValidationError} for a malformed list; {@link SagaLogClosedError} after `close`.
   */
  append(entries: readonly SagaEntry[]): Promise<number>;
  /** The saga's durable records in order, sealed into their hash chain; empty for an unknown saga. */
  read(sagaId: string): Promise<readonly SagaRecord[]>;
  /**
   * Takes or renews the saga's lease for `leaseMs` on the log's clock. Succeeds when nobody holds it, the
   * holder's lease has expired, or `owner` is the holder (renewal).
   */
  claim(sagaId: string, owner: string, leaseMs: number): Promise<SagaClaim>;
  /** Gives the lease back; resolves `false` when `owner` did not hold it. */
  release(sagaId: string, owner: string): Promise<boolean>;
  /** Ids of the sagas whose last record is not terminal ({@link isTerminalSagaRecord}), oldest first. */
  listUnfinished(): Promise<readonly string[]>;
  /** Finishes pending writes and releases resources; later calls reject with {@link SagaLogClosedError}. */
  close(): Promise<void>;
}

/** Options of {@link MemorySagaLog}. */
export interface MemorySagaLogOptions {
  /** Clock of the leases. @defaultValue systemClock */
  readonly clock?: Clock;
  /**
   * How many finished sagas to keep; beyond it the oldest finished saga is dropped (a memory log is not an
   * archive: use {@link FileSagaLog} for an audit trail). A positive integer or `Infinity`.
   * @defaultValue 10_000
   */
  readonly maxFinishedSagas?: number;
}

interface MemorySaga {
  readonly entries: SagaEntry[];
  /** The sealed prefix of `entries`: sealing waits until someone reads. */
  readonly records: SagaRecord[];
  finished: boolean;
  /** The frozen list `read` last handed out; handed out again until the saga grows. */
  view: readonly SagaRecord[] | undefined;
}

/**
 * The operations of a {@link MemorySagaLog} without the promise around them, for the orchestrator of this
 * package: an in-memory store has nothing to wait for, so the steps of a saga need not wait either. Same
 * checks, same errors (thrown). `append` takes only entries the orchestrator built, frozen whole.
 */
export interface SyncSagaLog {
  append(entries: readonly SagaEntry[]): number;
  claim(sagaId: string, owner: string, leaseMs: number): SagaClaim;
  release(sagaId: string, owner: string): boolean;
}

let syncOf: (log: SagaLog) => SyncSagaLog | undefined = () => undefined;

/** The synchronous operations of `log` when it is a {@link MemorySagaLog} of this package, else `undefined`. */
export function syncSagaLog(log: SagaLog): SyncSagaLog | undefined {
  return syncOf(log);
}

/**
 * A {@link SagaLog} in memory: fast, for tests, simulations and sagas that need no durability. Entries are
 * frozen on append and sealed into their hash chain when first read. Finished sagas beyond
 * `maxFinishedSagas` are dropped, oldest first.
 *
 * @example
 * ```ts
 * import { MemorySagaLog, SagaOrchestrator, defineSaga } from 'system-design-blocks/saga';
 *
 * const hello = defineSaga<{ name: string }>('hello')
 *   .step('greet', { run: ({ input }) => `hello ${input.name}`, compensate: () => {} })
 *   .build();
 * const orchestrator = new SagaOrchestrator({ log: new MemorySagaLog() });
 * const result = await orchestrator.run(hello, { name: 'Ada' }, { sagaId: 'greeting-1' });
 * if (result.status === 'completed') console.log(result.outputs.greet); // hello Ada
 * ```
 */
export class MemorySagaLog implements SagaLog {
  readonly #sagas = new Map<string, MemorySaga>();
  /** Finished sagas, oldest first. */
  readonly #finished = new Set<string>();
  readonly #leases: SagaLeaseTable;
  readonly #maxFinished: number;
  #closed = false;
  readonly #sync: SyncSagaLog = {
    append: (entries) => this.#append(entries, true),
    claim: (sagaId, owner, leaseMs) => this.#claim(sagaId, owner, leaseMs),
    release: (sagaId, owner) => this.#release(sagaId, owner),
  };

  static {
    syncOf = (log) => (#sync in log ? log.#sync : undefined);
  }

  /**
   * @param options - Clock and retention; validated here.
   * @throws {@link ValidationError} naming the option at fault.
   */
  constructor(options?: MemorySagaLogOptions) {
    const o = optionsObject(options, 'options');
    const clock = o.clock ?? systemClock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      invalid('options.clock', 'a Clock', clock);
    }
    const max = o.maxFinishedSagas ?? 10_000;
    if (max !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(max) || max <= 0)) {
      invalid('options.maxFinishedSagas', 'a positive integer or Infinity', max);
    }
    this.#leases = new SagaLeaseTable(clock);
    this.#maxFinished = max;
  }

  /** {@inheritDoc SagaLog.append} */
  async append(entries: readonly SagaEntry[]): Promise<number> {
    return this.#append(entries, false);
  }

  /**
   * @param own - The entries come from this package's orchestrator, frozen whole as they were built:
   *   nothing to walk. Anyone else's are frozen here, all the way down.
   */
  #append(entries: readonly SagaEntry[], own: boolean): number {
    this.#checkOpen();
    assertEntries(entries);
    const first = entries[0] as SagaEntry;
    const sagaId = first.sagaId;
    let saga = this.#sagas.get(sagaId);
    const version = saga?.entries.length ?? 0;
    if (first.seq !== version) throw new SagaLogConflictError(sagaId, first.seq, version);
    // All before storing any: a cycle refuses the whole batch.
    if (!own) for (let i = 0; i < entries.length; i++) deepFreeze(entries[i]);
    if (saga === undefined) {
      saga = { entries: [], records: [], finished: false, view: undefined };
      this.#sagas.set(sagaId, saga);
    }
    const wasFinished = saga.finished;
    for (let i = 0; i < entries.length; i++) saga.entries.push(entries[i] as SagaEntry);
    saga.finished = isTerminalSagaRecord(entries[entries.length - 1] as SagaEntry);
    if (saga.finished) this.#retire(sagaId);
    else if (wasFinished) this.#finished.delete(sagaId);
    return saga.entries.length;
  }

  /** {@inheritDoc SagaLog.read} */
  async read(sagaId: string): Promise<readonly SagaRecord[]> {
    this.#checkOpen();
    assertNonEmptyString(sagaId, 'sagaId');
    const saga = this.#sagas.get(sagaId);
    if (saga === undefined) return [];
    const { entries, records } = saga;
    if (saga.view !== undefined && saga.view.length === entries.length) return saga.view; // unchanged since
    for (let i = records.length; i < entries.length; i++) {
      // The entry is deep-frozen, so the sealed record is too once its own fields are.
      const prev = records[i - 1]?.hash ?? SAGA_GENESIS_HASH;
      records.push(Object.freeze(sealCanonical(entries[i] as SagaEntry, prev).record));
    }
    saga.view = vouchFor(records.slice()); // sealed here from frozen entries: intact
    return saga.view;
  }

  /** {@inheritDoc SagaLog.claim} */
  async claim(sagaId: string, owner: string, leaseMs: number): Promise<SagaClaim> {
    return this.#claim(sagaId, owner, leaseMs);
  }

  /** {@inheritDoc SagaLog.release} */
  async release(sagaId: string, owner: string): Promise<boolean> {
    return this.#release(sagaId, owner);
  }

  #claim(sagaId: string, owner: string, leaseMs: number): SagaClaim {
    this.#checkOpen();
    return this.#leases.claim(sagaId, owner, leaseMs);
  }

  #release(sagaId: string, owner: string): boolean {
    this.#checkOpen();
    return this.#leases.release(sagaId, owner);
  }

  /** {@inheritDoc SagaLog.listUnfinished} */
  async listUnfinished(): Promise<readonly string[]> {
    this.#checkOpen();
    const ids: string[] = [];
    for (const [id, saga] of this.#sagas) if (!saga.finished) ids.push(id);
    return ids;
  }

  /** {@inheritDoc SagaLog.close} */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Moves a saga that just finished (again) to the newest end and drops the oldest beyond the limit. */
  #retire(sagaId: string): void {
    this.#finished.delete(sagaId);
    this.#finished.add(sagaId);
    while (this.#finished.size > this.#maxFinished) {
      const oldest = this.#finished.values().next().value as string;
      this.#finished.delete(oldest);
      this.#sagas.delete(oldest);
      this.#leases.forget(oldest);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new SagaLogClosedError();
  }
}
