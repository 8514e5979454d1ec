/**
 * The saga log: the interface every store implements, and the in-memory default.
 */
import { type Clock, systemClock } from '../core/index.js';
import { assertNonEmptyString, invalid, optionsObject } from '../core/validation.js';
import { SagaLogClosedError, SagaLogConflictError } from './errors.js';
import { assertEntries, deepFreeze, SagaLeaseTable } from './internal.js';
import { isTerminalSagaRecord, SAGA_GENESIS_HASH, type SagaEntry, type SagaRecord, sealSagaRecord } from './records.js';

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
  readonly #finished = new Set<string>();
  readonly #leases: SagaLeaseTable;
  readonly #maxFinished: number;
  #closed = false;

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
    this.#checkOpen();
    assertEntries(entries);
    const first = entries[0] as SagaEntry;
    const sagaId = first.sagaId;
    let saga = this.#sagas.get(sagaId);
    const version = saga?.entries.length ?? 0;
    if (first.seq !== version) throw new SagaLogConflictError(sagaId, first.seq, version);
    if (saga === undefined) {
      saga = { entries: [], records: [], finished: false };
      this.#sagas.set(sagaId, saga);
    }
    const wasFinished = saga.finished;
    for (const entry of entries) saga.entries.push(deepFreeze(entry));
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
    for (let i = records.length; i < entries.length; i++) {
      records.push(Object.freeze(sealSagaRecord(entries[i] as SagaEntry, records[i - 1]?.hash ?? SAGA_GENESIS_HASH)));
    }
    return Object.freeze(records.slice());
  }

  /** {@inheritDoc SagaLog.claim} */
  async claim(sagaId: string, owner: string, leaseMs: number): Promise<SagaClaim> {
    this.#checkOpen();
    return this.#leases.claim(sagaId, owner, leaseMs);
  }

  /** {@inheritDoc SagaLog.release} */
  async release(sagaId: string, owner: string): Promise<boolean> {
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
