/**
 * A durable saga log in one append-only file of JSON lines.
 */
import { isAscii } from 'node:buffer';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Clock, systemClock } from '../core/index.js';
import { assertNonEmptyString, assertOneOf, invalid, optionsObject } from '../core/validation.js';
import { SagaLogClosedError, SagaLogConflictError, SagaLogCorruptError, SagaLogLockedError } from './errors.js';
import { assertEntries, deepFreeze, SagaLeaseTable } from './internal.js';
import type { SagaClaim, SagaLog } from './log.js';
import {
  HASH_SUFFIX,
  hashSuffix,
  isTerminalSagaRecord,
  lineHashesTo,
  markLinesIntact,
  recordShapeProblem,
  SAGA_GENESIS_HASH,
  type SagaEntry,
  type SagaRecord,
  sealCanonical,
} from './records.js';

/**
 * When an append is acknowledged:
 * - `group`: after an fsync that covers it; appends that arrive while an fsync runs share the next one;
 * - `always`: after its own write and fsync, one append at a time (the slowest; same guarantee);
 * - `never`: after the write reached the OS. Survives a crash of the process, not of the machine.
 */
export type FileSagaLogSync = 'group' | 'always' | 'never';

/** Options of {@link FileSagaLog.open}. */
export interface FileSagaLogOptions {
  /** Clock of the leases. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Durability of each append, see {@link FileSagaLogSync}. @defaultValue 'group' */
  readonly sync?: FileSagaLogSync;
}

/** What {@link FileSagaLog.open} found in the file. */
export interface FileSagaLogOpenReport {
  /** Records read. */
  readonly records: number;
  /** Sagas in the file. */
  readonly sagas: number;
  /** Sagas whose last record is not terminal. */
  readonly unfinished: number;
  /** Bytes of a torn last line (a write cut short by a crash), cut off the file; 0 when the file was clean. */
  readonly tornBytes: number;
}

interface FileSaga {
  /** Version including appends not yet durable: the optimistic-concurrency check. */
  reserved: number;
  /** Hash of the last record, durable or not: the `prev` of the next one. */
  head: string;
  /** Durable records; dropped once the saga is finished (re-read from the file on demand). */
  records: SagaRecord[] | undefined;
  /** Every record in `records` is known to match its hash (sealed here, or its line hashes to it). */
  intact: boolean;
  /** The frozen list `read` last handed out; the same one is handed out again until `records` changes. */
  view: readonly SagaRecord[] | undefined;
  /** Offset and length of each durable record's line, flattened. */
  readonly spans: number[];
  finished: boolean;
}

interface Pending {
  readonly saga: FileSaga;
  readonly records: readonly SagaRecord[];
  /** The records' lines, for `sync: 'always'` (one write each); the other modes write the shared buffer. */
  readonly bytes: Buffer | undefined;
  /** Byte length of each record's line. */
  readonly lengths: readonly number[];
  /** The saga's version once this append is in (what the append resolves with). */
  readonly version: number;
  readonly resolve: (version: number) => void;
  readonly reject: (error: unknown) => void;
}

/** A saga the log has not seen a record of yet. */
function newFileSaga(): FileSaga {
  return {
    reserved: 0,
    head: SAGA_GENESIS_HASH,
    records: [],
    intact: true,
    view: undefined,
    spans: [],
    finished: false,
  };
}

const SYNCS = ['group', 'always', 'never'] as const;
/** Read, append, create: the `a+` of `open`, as flags that O_DSYNC can join. */
const APPEND = fsConstants.O_RDWR | fsConstants.O_APPEND | fsConstants.O_CREAT;
/** Appends queued in one turn that make a write worth starting before the turn ends. */
const EAGER_BATCH = 128;
const NEWLINE = 0x0a;
/** Bytes a line adds after its canonical text: the hash suffix and the newline, less the replaced brace. */
const HASH_LINE_END = HASH_SUFFIX + 1;
/** Log files open in this process, by absolute path: one writer per file. */
const openInProcess = new Set<string>();

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return errorCode(error) === 'EPERM';
  }
}

async function takeLock(path: string, lockPath: string): Promise<void> {
  for (let tries = 0; tries < 3; tries++) {
    try {
      await writeFile(lockPath, String(process.pid), { flag: 'wx' });
      return;
    } catch (error: unknown) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const pid = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    const mine = pid === process.pid;
    if (Number.isSafeInteger(pid) && pid > 0 && ((mine && openInProcess.has(path)) || (!mine && isAlive(pid)))) {
      throw new SagaLogLockedError(path, pid);
    }
    await rm(lockPath, { force: true }); // left by a dead process (or a closed log of ours): take over
  }
  throw new SagaLogLockedError(path, -1);
}

/** Only whitespace or NUL bytes (what a crash can leave after a file was extended) from `from` on. */
function onlyPadding(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i++) {
    const b = data[i];
    if (b !== 0 && b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return false;
  }
  return true;
}

/** Writes `buffer[0, length)` at the end of the file (finishing the rare short write). */
async function writeFully(handle: FileHandle, buffer: Buffer, length: number): Promise<void> {
  let offset = 0;
  while (offset < length) {
    const { bytesWritten } = await handle.write(buffer, offset, length - offset);
    offset += bytesWritten;
  }
}

/** Size the append buffer starts at; one that grew beyond `KEEP_BUFFER` is let go after its write. */
const FIRST_BUFFER = 64 * 1024;
const KEEP_BUFFER = 4 * 1024 * 1024;

/**
 * A {@link SagaLog} in one file of JSON lines, one record per line, for a single process. Appends are
 * write-ahead and durable before they resolve (fsync per append or per group of appends, see
 * {@link FileSagaLogSync}). On open, a torn last line left by a crash (a partial write, or the NUL bytes a
 * machine crash can leave) is detected, ignored and cut off; a damaged line anywhere else is refused with
 * {@link SagaLogCorruptError}, never guessed at. Each record is one line: its canonical JSON with the hash
 * added last.
 *
 * Unfinished sagas are kept in memory; finished ones only as positions in the file, read back on demand.
 * Leases live in memory on `clock`: a file log has one writer process, guarded by a `<path>.lock` file that
 * a later process takes over when its writer is dead. The file only grows: rotate or archive it yourself.
 *
 * @example
 * ```ts
 * import { join } from 'node:path';
 * import { tmpdir } from 'node:os';
 * import { FileSagaLog, SagaOrchestrator } from 'system-design-blocks/saga';
 *
 * const log = await FileSagaLog.open(join(tmpdir(), `sagas-${process.pid}.jsonl`));
 * console.log(log.opened.tornBytes); // 0 unless the last writer crashed mid-line
 * const orchestrator = new SagaOrchestrator({ log, sagas: [] });
 * const report = await orchestrator.recover();
 * console.log(report.results.length);
 * await log.close();
 * ```
 */
export class FileSagaLog implements SagaLog {
  /** Absolute path of the file. */
  readonly path: string;
  /** What was found when the file was opened. */
  readonly opened: FileSagaLogOpenReport;
  readonly #handle: FileHandle;
  readonly #sync: FileSagaLogSync;
  /** The file was opened with O_DSYNC: writes are durable as they complete, no separate fdatasync. */
  readonly #dsync: boolean;
  readonly #leases: SagaLeaseTable;
  readonly #sagas: Map<string, FileSaga>;
  #size: number;
  #queue: Pending[] = [];
  /**
   * The lines of the queued appends, encoded as they are sealed (no string of them is built): `#used` bytes
   * of `#buffer`. A flush writes them and swaps in `#spare`, so appends keep coming while it writes.
   */
  #buffer: Buffer = Buffer.allocUnsafe(FIRST_BUFFER);
  #used = 0;
  #spare: Buffer | undefined;
  /**
   * A flush to start at the end of this event-loop turn: the appends of one turn (sagas resumed together by
   * the last write append again together) then share one write and one fsync, instead of the first going
   * alone. Enough of them start a write at once (`EAGER_BATCH`), which then runs while the turn goes on.
   */
  #flushSoon: ReturnType<typeof setImmediate> | undefined;
  readonly #flushNow = (): void => {
    if (this.#flushSoon !== undefined) {
      clearImmediate(this.#flushSoon);
      this.#flushSoon = undefined;
    }
    this.#flushing ??= this.#flush();
  };
  #flushing: Promise<void> | undefined;
  #failure: SagaLogClosedError | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    path: string,
    handle: FileHandle,
    sagas: Map<string, FileSaga>,
    size: number,
    opened: FileSagaLogOpenReport,
    sync: FileSagaLogSync,
    dsync: boolean,
    clock: Clock,
  ) {
    this.path = path;
    this.#handle = handle;
    this.#sagas = sagas;
    this.#size = size;
    this.opened = opened;
    this.#sync = sync;
    this.#dsync = dsync;
    this.#leases = new SagaLeaseTable(clock);
  }

  /**
   * Opens (or creates) a log file: takes the lock, reads every record, cuts off a torn last line.
   *
   * @param path - The file; its directory must exist.
   * @param options - Lease clock and durability.
   * @throws {@link SagaLogLockedError} when another live process has it open;
   *   {@link SagaLogCorruptError} for a damaged line before the last; {@link ValidationError} for bad options.
   */
  static async open(path: string, options?: FileSagaLogOptions): Promise<FileSagaLog> {
    assertNonEmptyString(path, 'path');
    const o = optionsObject(options, 'options');
    const sync = o.sync ?? 'group';
    assertOneOf(sync, 'options.sync', SYNCS);
    const clock = o.clock ?? systemClock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      invalid('options.clock', 'a Clock', clock);
    }
    const absolute = resolve(path);
    const lockPath = `${absolute}.lock`;
    await takeLock(absolute, lockPath);
    openInProcess.add(absolute);
    try {
      let data: Buffer;
      let created = false;
      try {
        data = await readFile(absolute);
      } catch (error: unknown) {
        if (errorCode(error) !== 'ENOENT') throw error;
        data = Buffer.alloc(0);
        created = true;
      }
      const { sagas, end, records } = FileSagaLog.#load(absolute, data);
      if (end < data.length) await truncate(absolute, end);
      // With O_DSYNC every write is durable when it returns, as if followed by fdatasync, in one system call
      // on the thread pool: no round trip through the event loop between writing and syncing.
      const dsync = sync !== 'never' && typeof fsConstants.O_DSYNC === 'number';
      const handle = await open(absolute, dsync ? APPEND | fsConstants.O_DSYNC : 'a+');
      if (created) {
        await handle.sync();
        // Make the new file's directory entry durable too (best effort: not every platform can open a dir).
        await open(dirname(absolute), 'r')
          .then(async (dir) => {
            await dir.sync().catch(() => undefined);
            await dir.close();
          })
          .catch(() => undefined);
      }
      let unfinished = 0;
      for (const saga of sagas.values()) if (!saga.finished) unfinished++;
      const report: FileSagaLogOpenReport = Object.freeze({
        records,
        sagas: sagas.size,
        unfinished,
        tornBytes: data.length - end,
      });
      return new FileSagaLog(absolute, handle, sagas, end, report, sync, dsync, clock);
    } catch (error: unknown) {
      openInProcess.delete(absolute);
      await rm(lockPath, { force: true });
      throw error;
    }
  }

  /**
   * One pass over the file: parses each line, groups records by saga and finds the torn tail. Records of
   * finished sagas are let go as soon as their terminal line is read (they are re-read on demand); the
   * lines of the sagas left unfinished are then checked against their own hashes (see `lineHashesTo`),
   * so that recovering them need not serialise every record again to verify its chain.
   */
  static #load(path: string, data: Buffer): { sagas: Map<string, FileSaga>; end: number; records: number } {
    const sagas = new Map<string, FileSaga>();
    let position = 0;
    let line = 0;
    let records = 0;
    // A file of ASCII (canonical JSON of ASCII values) is decoded once and its lines cut from that string, at
    // the same offsets as in bytes; anything else is decoded line by line.
    const ascii = isAscii(data) ? data.toString('latin1') : undefined;
    while (position < data.length) {
      const newline = data.indexOf(NEWLINE, position);
      // No newline: the last write was cut short. It was never acknowledged, so it is safe to drop.
      if (newline === -1) break;
      line++;
      let record: unknown;
      let problem: string | undefined;
      try {
        record = JSON.parse(ascii?.slice(position, newline) ?? data.toString('utf8', position, newline));
        problem = recordShapeProblem(record);
      } catch {
        problem = 'not JSON';
      }
      if (problem !== undefined) {
        if (onlyPadding(data, newline + 1)) break; // a torn tail
        throw new SagaLogCorruptError(path, line, `${problem}, and records follow: not a torn tail`);
      }
      const r = deepFreeze(record as SagaRecord);
      let saga = sagas.get(r.sagaId);
      if (saga === undefined) {
        saga = newFileSaga();
        sagas.set(r.sagaId, saga);
      }
      saga.head = r.hash;
      saga.spans.push(position, newline + 1 - position);
      saga.reserved++;
      saga.finished = isTerminalSagaRecord(r);
      if (saga.finished) saga.records = undefined;
      else saga.records?.push(r);
      records++;
      position = newline + 1;
    }
    for (const saga of sagas.values()) {
      if (saga.finished) continue;
      const spans = saga.spans;
      if (saga.records === undefined) {
        // Written to again after its terminal record: its earlier records were let go, parse them again.
        saga.records = [];
        for (let i = 0; i < spans.length; i += 2) {
          const start = spans[i] as number;
          const text = data.toString('utf8', start, start + (spans[i + 1] as number) - 1);
          saga.records.push(deepFreeze(JSON.parse(text) as SagaRecord));
        }
      }
      // The kept records are marked intact when each line's bytes hash to its record's hash.
      const kept = saga.records;
      let intact = true;
      for (let i = 0; intact && i < kept.length; i++) {
        const start = spans[2 * i] as number;
        intact = lineHashesTo(data, start, start + (spans[2 * i + 1] as number) - 1, kept[i] as SagaRecord);
      }
      saga.intact = intact;
    }
    return { sagas, end: position, records };
  }

  /** {@inheritDoc SagaLog.append} */
  append(entries: readonly SagaEntry[]): Promise<number> {
    const records: SagaRecord[] = [];
    const lengths: number[] = [];
    let saga: FileSaga | undefined;
    const start = this.#used;
    let end = start;
    try {
      this.#checkOpen();
      assertEntries(entries);
      const first = entries[0] as SagaEntry;
      saga = this.#sagas.get(first.sagaId);
      const version = saga?.reserved ?? 0;
      if (first.seq !== version) throw new SagaLogConflictError(first.sagaId, first.seq, version);
      let prev = saga?.head ?? SAGA_GENESIS_HASH;
      for (const entry of entries) {
        const { record, text } = sealCanonical(entry, prev, true);
        // The line: the canonical text, its closing brace replaced by the hash and a brace, then a newline.
        // Until the append is queued, `#used` stays put: a failure leaves nothing behind.
        const buffer = this.#room(end, text.length * 3 + HASH_LINE_END);
        const line = end;
        end += buffer.write(text, end, 'utf8') - 1;
        end += buffer.write(hashSuffix(record.hash), end, 'latin1');
        buffer[end++] = NEWLINE;
        records.push(record);
        lengths.push(end - line);
        prev = record.hash;
      }
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    if (saga === undefined) {
      saga = newFileSaga();
      this.#sagas.set((entries[0] as SagaEntry).sagaId, saga);
    }
    saga.reserved += records.length;
    saga.head = (records[records.length - 1] as SagaRecord).hash;
    const version = saga.reserved;
    let bytes: Buffer | undefined;
    if (this.#sync === 'always')
      bytes = Buffer.from(this.#buffer.subarray(start, end)); // a copy: the space is reused
    else this.#used = end;
    const target = saga;
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ saga: target, records, bytes, lengths, version, resolve, reject });
      if (this.#flushing !== undefined) return; // the running flush takes it in its next write
      if (this.#queue.length >= EAGER_BATCH) this.#flushNow();
      else this.#flushSoon ??= setImmediate(this.#flushNow);
    });
  }

  /** The append buffer, grown (keeping its first `used` bytes) when it has less than `need` bytes after them. */
  #room(used: number, need: number): Buffer {
    const buffer = this.#buffer;
    if (used + need <= buffer.length) return buffer;
    let size = buffer.length * 2;
    while (size < used + need) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    buffer.copy(grown, 0, 0, used);
    this.#buffer = grown;
    return grown;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#failure === undefined) {
        let batch: Pending[];
        let buffer: Buffer;
        let length: number;
        if (this.#sync === 'always') {
          batch = this.#queue.splice(0, 1);
          buffer = (batch[0] as Pending).bytes as Buffer;
          length = buffer.length;
        } else {
          batch = this.#queue;
          this.#queue = [];
          buffer = this.#buffer;
          length = this.#used;
          this.#buffer = this.#spare ?? Buffer.allocUnsafe(FIRST_BUFFER);
          this.#spare = undefined;
          this.#used = 0;
        }
        try {
          await writeFully(this.#handle, buffer, length);
          if (this.#sync !== 'never' && !this.#dsync) await this.#handle.datasync();
          if (this.#sync !== 'always' && buffer.length <= KEEP_BUFFER) this.#spare = buffer;
        } catch (error: unknown) {
          this.#failure = new SagaLogClosedError(`the saga log ${this.path} failed to write; reopen it`, {
            cause: error,
          });
          for (const p of batch) p.reject(this.#failure);
          break;
        }
        let offset = this.#size;
        for (const p of batch) {
          const saga = p.saga;
          for (let i = 0; i < p.records.length; i++) {
            const length = p.lengths[i] as number;
            saga.spans.push(offset, length);
            offset += length;
          }
          const last = p.records[p.records.length - 1] as SagaRecord;
          if (isTerminalSagaRecord(last)) {
            saga.finished = true;
            saga.records = undefined;
            saga.view = undefined;
          } else if (saga.records !== undefined) {
            saga.records.push(...p.records);
          } else {
            // A finished saga written to again: unfinished, its records are read back from the file on
            // demand (no await here: a flush never waits on anything but its own write).
            saga.finished = false;
            saga.view = undefined;
          }
        }
        this.#size = offset;
        for (const p of batch) p.resolve(p.version);
      }
    } finally {
      const failure = this.#failure;
      if (failure !== undefined) {
        for (const p of this.#queue.splice(0)) p.reject(failure);
        this.#used = 0;
      }
      this.#flushing = undefined;
    }
  }

  /** {@inheritDoc SagaLog.read} */
  async read(sagaId: string): Promise<readonly SagaRecord[]> {
    this.#checkOpen();
    assertNonEmptyString(sagaId, 'sagaId');
    const saga = this.#sagas.get(sagaId);
    if (saga === undefined || saga.spans.length === 0) return [];
    const records = saga.records;
    if (records === undefined) {
      // A finished saga: read back from the file.
      const back = await this.#readSpans(saga.spans);
      return back.intact ? markLinesIntact(back.records) : Object.freeze(back.records);
    }
    // Kept in memory (an unfinished saga): the same frozen list while it does not grow.
    if (saga.view === undefined || saga.view.length !== records.length) {
      saga.view = saga.intact ? markLinesIntact(records.slice()) : Object.freeze(records.slice());
    }
    return saga.view;
  }

  /** Reads records back from their lines, and whether every line hashes to its record's hash. */
  async #readSpans(spans: readonly number[]): Promise<{ records: SagaRecord[]; intact: boolean }> {
    const records: SagaRecord[] = [];
    let intact = true;
    for (let i = 0; i < spans.length; i += 2) {
      const offset = spans[i] as number;
      const length = spans[i + 1] as number;
      const buffer = Buffer.alloc(length);
      await this.#handle.read(buffer, 0, length, offset);
      const record = deepFreeze(JSON.parse(buffer.toString('utf8', 0, length - 1)) as SagaRecord);
      if (intact && !lineHashesTo(buffer, 0, length - 1, record)) intact = false;
      records.push(record);
    }
    return { records, intact };
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
    for (const [id, saga] of this.#sagas) if (!saga.finished && saga.spans.length > 0) ids.push(id);
    return ids;
  }

  /** Waits for pending appends, closes the file and removes the lock. Calling it twice is harmless. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#flushSoon !== undefined) this.#flushNow();
      while (this.#flushing !== undefined) await this.#flushing;
      await this.#handle.close();
      openInProcess.delete(this.path);
      await rm(`${this.path}.lock`, { force: true });
    })();
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new SagaLogClosedError(`the saga log ${this.path} is closed`);
    if (this.#failure !== undefined) throw this.#failure;
  }
}
