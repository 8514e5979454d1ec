/**
 * The records of the saga log: what each transition writes, how records are sealed into a per-saga SHA-256
 * chain, and how a chain is verified.
 */
import { canonicalJson, describeValue, type JsonValue, sha256Hex } from '../core/index.js';
import { deepFreeze } from './internal.js';

/** A failure as the log keeps it: what a later process (or an auditor) needs to know about an error. */
export interface SagaErrorInfo {
  /** The error's `name` (`'NonError'` when something other than an `Error` was thrown). */
  readonly name: string;
  /** The error's message (at most 2,000 characters). */
  readonly message: string;
  /** The error's string `code`, when it had one (`E_CARD_DECLINED`, `ECONNRESET`…). */
  readonly code?: string;
}

/** Which way a saga was going when it stopped for an operator. */
export type SagaPhase = 'forward' | 'compensation';

/**
 * What one record says happened, discriminated by `type`. Written in this order for a saga that completes:
 * `saga_started`, then per step `step_started` (durable before the step runs) and `step_completed`
 * (with its output), then `saga_completed`.
 */
export type SagaRecordBody =
  | {
      /** The saga began; `steps` pins the definition it was started with. */
      readonly type: 'saga_started';
      /** The definition name. */
      readonly saga: string;
      /** The definition's step names, in order. */
      readonly steps: readonly string[];
      /** The input, absent when `undefined`. */
      readonly input?: JsonValue;
    }
  | {
      /** An attempt of a step is about to run. */
      readonly type: 'step_started';
      /** The step. */
      readonly step: string;
      /** 1 for the first attempt. */
      readonly attempt: number;
    }
  | {
      /** A step succeeded. */
      readonly type: 'step_completed';
      /** The step. */
      readonly step: string;
      /** Its output, absent when the step returned `undefined`. */
      readonly output?: JsonValue;
    }
  | {
      /** An attempt of a step failed; `retryInMs` is present when another attempt follows. */
      readonly type: 'step_failed';
      /** The step. */
      readonly step: string;
      /** The attempt that failed. */
      readonly attempt: number;
      /** The failure. */
      readonly error: SagaErrorInfo;
      /** Delay before the next attempt, in ms; absent when the step gives up. */
      readonly retryInMs?: number;
    }
  | {
      /** An operator skipped a step after the pivot (`skip`), optionally giving its output. */
      readonly type: 'step_skipped';
      /** The step. */
      readonly step: string;
      /** The output the operator supplied, if any. */
      readonly output?: JsonValue;
    }
  | {
      /** A step before or at the pivot failed: the saga turns back. */
      readonly type: 'saga_compensating';
      /** The step that failed. */
      readonly step: string;
      /** Its failure. */
      readonly error: SagaErrorInfo;
    }
  | {
      /** A compensation attempt is about to run. */
      readonly type: 'compensation_started';
      /** The step being undone. */
      readonly step: string;
      /** 1 for the first attempt. */
      readonly attempt: number;
    }
  | {
      /** A compensation succeeded. */
      readonly type: 'compensation_completed';
      /** The step undone. */
      readonly step: string;
    }
  | {
      /** A compensation attempt failed; `retryInMs` is present when another attempt follows. */
      readonly type: 'compensation_failed';
      /** The step being undone. */
      readonly step: string;
      /** The attempt that failed. */
      readonly attempt: number;
      /** The failure. */
      readonly error: SagaErrorInfo;
      /** Delay before the next attempt, in ms; absent when the policy gives up. */
      readonly retryInMs?: number;
    }
  | {
      /** An operator declared a compensation done by hand (`skip`). */
      readonly type: 'compensation_skipped';
      /** The step. */
      readonly step: string;
    }
  | {
      /** A compensation or a step after the pivot exhausted its retries: an operator must act. */
      readonly type: 'saga_needs_intervention';
      /** Which way the saga was going. */
      readonly phase: SagaPhase;
      /** The step that gave up. */
      readonly step: string;
      /** Its last failure. */
      readonly error: SagaErrorInfo;
    }
  | {
      /** An operator resumed a saga that needed intervention. */
      readonly type: 'saga_resumed';
    }
  | {
      /** Every step succeeded (or was skipped by an operator). Terminal. */
      readonly type: 'saga_completed';
    }
  | {
      /** Every started step before the pivot was compensated. Terminal. */
      readonly type: 'saga_compensated';
      /** The step whose failure turned the saga back. */
      readonly step: string;
      /** Its failure. */
      readonly error: SagaErrorInfo;
    };

/** The `type` of a record. */
export type SagaRecordType = SagaRecordBody['type'];

/** The fields the orchestrator puts on every entry besides its body. */
export interface SagaEntryMeta {
  /** The saga instance. */
  readonly sagaId: string;
  /** Position in the saga's log, from 0; also the version the append expected. */
  readonly seq: number;
  /** Wall-clock time of the write, in ms since the epoch (from the orchestrator's `timestamp`). */
  readonly at: number;
  /** The orchestrator that wrote it. */
  readonly owner: string;
}

/**
 * What the orchestrator appends: metadata and body. The log seals it into a {@link SagaRecord} by adding the
 * hash chain (see {@link sealSagaRecord}).
 */
export type SagaEntry = SagaEntryMeta & SagaRecordBody;

/** The fields every stored record carries besides its body: the entry's, plus the hash chain. */
export interface SagaRecordMeta extends SagaEntryMeta {
  /** SHA-256 (hex) of the previous record of this saga; 64 zeros for the first. */
  readonly prev: string;
  /** SHA-256 (hex) of this record's canonical JSON without `hash`. */
  readonly hash: string;
}

/** One record of a saga's log as stored and read back: metadata, body and hash chain. Immutable JSON. */
export type SagaRecord = SagaRecordMeta & SagaRecordBody;

/** The `prev` of a saga's first record. */
export const SAGA_GENESIS_HASH: string = '0'.repeat(64);

const TYPES: ReadonlySet<string> = new Set<SagaRecordType>([
  'saga_started',
  'step_started',
  'step_completed',
  'step_failed',
  'step_skipped',
  'saga_compensating',
  'compensation_started',
  'compensation_completed',
  'compensation_failed',
  'compensation_skipped',
  'saga_needs_intervention',
  'saga_resumed',
  'saga_completed',
  'saga_compensated',
]);

/**
 * True for the records that end a saga (`saga_completed`, `saga_compensated`). A {@link SagaLog} uses it to
 * tell unfinished sagas from finished ones.
 *
 * @example
 * ```ts
 * import { isTerminalSagaRecord } from 'system-design-blocks/saga';
 *
 * console.log(isTerminalSagaRecord({ type: 'saga_completed' })); // true
 * ```
 */
export function isTerminalSagaRecord(record: { readonly type: string }): boolean {
  return record.type === 'saga_completed' || record.type === 'saga_compensated';
}

/**
 * Checks the shape of an entry: returns what is wrong, or `undefined` when it looks like one. Used by the
 * logs at append time.
 */
export function entryShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return 'not a plain object';
  const r = value as Record<string, unknown>;
  if (typeof r.sagaId !== 'string' || r.sagaId.length === 0) return 'sagaId is not a non-empty string';
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 0) return 'seq is not an integer >= 0';
  if (typeof r.type !== 'string' || !TYPES.has(r.type)) return `unknown record type ${describeValue(r.type)}`;
  if (typeof r.at !== 'number' || !Number.isFinite(r.at)) return 'at is not a finite number';
  if (typeof r.owner !== 'string') return 'owner is not a string';
  return undefined;
}

/** As {@link entryShapeProblem}, for a sealed record (with its chain fields). */
export function recordShapeProblem(value: unknown): string | undefined {
  const problem = entryShapeProblem(value);
  if (problem !== undefined) return problem;
  const r = value as Record<string, unknown>;
  // A wrong digest of the right length is caught by verification; here only the shape matters.
  if (typeof r.prev !== 'string' || r.prev.length !== 64) return 'prev is not a SHA-256 hex digest';
  if (typeof r.hash !== 'string' || r.hash.length !== 64) return 'hash is not a SHA-256 hex digest';
  return undefined;
}

/** Every field a record can carry except `hash`, in canonical (sorted) order. */
const FIELDS: readonly string[] = [
  'at',
  'attempt',
  'error',
  'input',
  'output',
  'owner',
  'phase',
  'prev',
  'retryInMs',
  'saga',
  'sagaId',
  'seq',
  'step',
  'steps',
  'type',
];

/**
 * True when `JSON.stringify(value)` is the canonical JSON of `value`: plain JSON whose object keys are already
 * in sorted order at every level (what the orchestrator records: outputs and inputs are copied that way).
 * Anything else (unsorted keys, class instances, non-finite numbers, cycles, very deep values) answers
 * false and goes the generic way, which sorts or names the value that is not JSON.
 */
function stringifiesCanonically(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    if ((value as { toJSON?: unknown }).toJSON !== undefined) return false;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v === undefined || !stringifiesCanonically(v, depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let last: string | undefined;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    if (last !== undefined && !(last < key)) return false;
    last = key;
    const v: unknown = (value as Record<string, unknown>)[key];
    if (v !== undefined && !stringifiesCanonically(v, depth + 1)) return false;
  }
  return true;
}

/** JSON text of short strings that repeat from record to record (owners, saga ids, step names). */
const quoted = new Map<string, string>();

function quote(value: string): string {
  let text = quoted.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    if (value.length <= 128) {
      if (quoted.size >= 4_096) quoted.clear();
      quoted.set(value, text);
    }
  }
  return text;
}

/** True for a number JSON can carry (and that `${n}` writes as JSON does). */
function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** What a template gives: the record (without `hash`) and its canonical text. */
interface Templated {
  readonly record: Record<string, unknown>;
  readonly text: string;
}

/** The text of the fields every record has between `at` and `type`, from `owner` to `seq`. */
function metaText(owner: string, prev: string, sagaId: string, seq: number): string {
  return `"owner":${quote(owner)},"prev":${JSON.stringify(prev)},"sagaId":${quote(sagaId)},"seq":${seq}`;
}

/** Fields of `source` besides the ones a template writes (`prev` and `hash` are not the entry's). */
function extraFields(source: Readonly<Record<string, unknown>>, expected: number): boolean {
  let fields = Object.keys(source).length;
  if (source.prev !== undefined) fields--;
  if (source.hash !== undefined) fields--;
  return fields !== expected;
}

/*
 * One function per record type: each reads the fields of a single kind of entry, so its property accesses
 * see one or two object shapes and stay fast, where one function reading every kind would see them all.
 */

function stepStarted(source: Readonly<Record<string, unknown>>, prev: string): Templated | undefined {
  const { at, attempt, owner, sagaId, seq, step } = source;
  if (!finite(at) || !finite(seq) || !finite(attempt) || typeof owner !== 'string') return undefined;
  if (typeof sagaId !== 'string' || typeof step !== 'string' || extraFields(source, 7)) return undefined;
  const meta = metaText(owner, prev, sagaId, seq);
  return {
    record: { at, attempt, owner, prev, sagaId, seq, step, type: 'step_started' },
    text: `{"at":${at},"attempt":${attempt},${meta},"step":${quote(step)},"type":"step_started"}`,
  };
}

function stepCompleted(source: Readonly<Record<string, unknown>>, prev: string): Templated | undefined {
  const { at, output, owner, sagaId, seq, step } = source;
  if (!finite(at) || !finite(seq) || typeof owner !== 'string' || typeof sagaId !== 'string') return undefined;
  if (typeof step !== 'string') return undefined;
  const meta = metaText(owner, prev, sagaId, seq);
  if (output === undefined) {
    if (extraFields(source, 6)) return undefined;
    return {
      record: { at, owner, prev, sagaId, seq, step, type: 'step_completed' },
      text: `{"at":${at},${meta},"step":${quote(step)},"type":"step_completed"}`,
    };
  }
  if (extraFields(source, 7) || !stringifiesCanonically(output, 0)) return undefined;
  return {
    record: { at, output, owner, prev, sagaId, seq, step, type: 'step_completed' },
    text: `{"at":${at},"output":${JSON.stringify(output)},${meta},"step":${quote(step)},"type":"step_completed"}`,
  };
}

function sagaCompleted(source: Readonly<Record<string, unknown>>, prev: string): Templated | undefined {
  const { at, owner, sagaId, seq } = source;
  if (!finite(at) || !finite(seq) || typeof owner !== 'string' || typeof sagaId !== 'string') return undefined;
  if (extraFields(source, 5)) return undefined;
  return {
    record: { at, owner, prev, sagaId, seq, type: 'saga_completed' },
    text: `{"at":${at},${metaText(owner, prev, sagaId, seq)},"type":"saga_completed"}`,
  };
}

function sagaStarted(source: Readonly<Record<string, unknown>>, prev: string): Templated | undefined {
  const { at, input, owner, saga, sagaId, seq, steps } = source;
  if (!finite(at) || !finite(seq) || typeof owner !== 'string' || typeof sagaId !== 'string') return undefined;
  if (typeof saga !== 'string' || !Array.isArray(steps) || !stringifiesCanonically(steps, 0)) return undefined;
  // `saga` sorts between `prev` and `sagaId`: the shared meta text does not fit.
  const head = `"owner":${quote(owner)},"prev":${JSON.stringify(prev)}`;
  const tail = `"saga":${quote(saga)},"sagaId":${quote(sagaId)},"seq":${seq},"steps":${JSON.stringify(steps)},"type":"saga_started"}`;
  if (input === undefined) {
    if (extraFields(source, 7)) return undefined;
    return {
      record: { at, owner, prev, saga, sagaId, seq, steps, type: 'saga_started' },
      text: `{"at":${at},${head},${tail}`,
    };
  }
  if (extraFields(source, 8) || !stringifiesCanonically(input, 0)) return undefined;
  return {
    record: { at, input, owner, prev, saga, sagaId, seq, steps, type: 'saga_started' },
    text: `{"at":${at},"input":${JSON.stringify(input)},${head},${tail}`,
  };
}

/**
 * The canonical text and the record for the entries the orchestrator writes most (a step started or
 * completed, a saga started or completed), by a template instead of a general serialiser; `undefined` for
 * anything else, or anything unexpected in them (another field, a value of another type, an output or input
 * that is not canonical as it stands), which then takes the general path. Same text either way (a property
 * test holds them equal).
 */
function templated(source: Readonly<Record<string, unknown>>, prev: string): Templated | undefined {
  switch (source.type) {
    case 'step_started':
      return stepStarted(source, prev);
    case 'step_completed':
      return stepCompleted(source, prev);
    case 'saga_completed':
      return sagaCompleted(source, prev);
    case 'saga_started':
      return sagaStarted(source, prev);
    default:
      return undefined;
  }
}

/**
 * `source` without `hash` (and with `prev` when given) as a new object whose fields are in canonical order,
 * and its canonical JSON: the text `canonicalJson` gives (a property test holds them equal). The common
 * entries go by template; the rest by a single `JSON.stringify` when every field is already canonical. A
 * record with a field the log does not know takes the generic path and keeps it.
 */
function canonicalRecord(
  source: Readonly<Record<string, unknown>>,
  prev: string | undefined,
): { readonly record: Record<string, unknown>; readonly text: string } {
  const chained = prev ?? source.prev;
  if (typeof chained === 'string') {
    const quick = templated(source, chained);
    if (quick !== undefined) return quick;
  }
  const record: Record<string, unknown> = {};
  let used = 0;
  let plain = true;
  for (let i = 0; i < FIELDS.length; i++) {
    const field = FIELDS[i] as string;
    const value = field === 'prev' && prev !== undefined ? prev : source[field];
    if (value === undefined) continue;
    record[field] = value;
    used++;
    if (plain && typeof value !== 'string' && !stringifiesCanonically(value, 0)) plain = false;
  }
  let present = prev !== undefined && source.prev === undefined ? 1 : 0;
  for (const key in source) if (key !== 'hash' && source[key] !== undefined) present++;
  if (present !== used) {
    const all: Record<string, unknown> = {};
    for (const key of Object.keys(source).sort()) if (key !== 'hash') all[key] = source[key];
    if (prev !== undefined) all.prev = prev;
    return { record: all, text: canonicalJson(all, 'record') };
  }
  return { record, text: plain ? JSON.stringify(record) : canonicalJson(record, 'record') };
}

/** SHA-256 of a record's canonical JSON without its `hash` field. */
export function recordDigest(record: SagaRecord | SagaEntry): string {
  return sha256Hex(canonicalRecord(record as unknown as Record<string, unknown>, undefined).text);
}

/**
 * Lists of records a log vouches for: every record in them is well-formed, deep-frozen and was sealed by the
 * log in this process (its hash is that of its canonical JSON), and the list itself is frozen.
 * {@link verifySagaRecords} need not check their shape or hash them again; it still checks the chain.
 */
const VOUCHED: unique symbol = Symbol('vouched');

/**
 * Lists a file log read back from lines that each hash to their record's `hash` (a torn or damaged line
 * does not): intact as written, though not proven canonical (a line someone else wrote in another form of
 * the same JSON would pass). The orchestrator trusts them before driving a saga, as it trusts vouched lists;
 * {@link verifySagaRecords}, the audit, does not, and hashes their canonical JSON.
 */
const LINES_INTACT: unique symbol = Symbol('lines intact');

/**
 * Freezes a fresh list of deep-frozen records sealed in this process and vouches for it (for the logs): a
 * hidden mark on the list itself, cheaper to set and test than a weak set. Copies of the list (spread,
 * `slice`) do not carry it.
 */
export function vouchFor(records: SagaRecord[]): readonly SagaRecord[] {
  Object.defineProperty(records, VOUCHED, { value: true });
  return Object.freeze(records);
}

/** Freezes a fresh list of deep-frozen records read back from lines that hash to them, and marks it so. */
export function markLinesIntact(records: SagaRecord[]): readonly SagaRecord[] {
  Object.defineProperty(records, LINES_INTACT, { value: true });
  return Object.freeze(records);
}

function isVouched(records: readonly SagaRecord[]): boolean {
  return (records as { readonly [VOUCHED]?: boolean })[VOUCHED] === true;
}

function hasIntactLines(records: readonly SagaRecord[]): boolean {
  return (records as { readonly [LINES_INTACT]?: boolean })[LINES_INTACT] === true;
}

/** What a log line adds after a record's canonical text (its closing `}` replaced): `,"hash":"` … `"}`. */
const HASH_HEAD = ',"hash":"';
/** Bytes of that suffix, less the closing brace it replaces. */
export const HASH_SUFFIX = HASH_HEAD.length + 64 + 2;

/**
 * True when the line `line[start, end)` ends with `,"hash":"<record.hash>"}` and its bytes, with that
 * suffix replaced by a closing brace, hash to `record.hash`: the line is intact as it was written (a torn,
 * damaged or edited line is not). Checked on the bytes, without serialising the record again. `record` must
 * be what the line parses to. Borrows `line` for a moment (its byte at the cut becomes the closing brace
 * while hashing) and gives it back unchanged.
 */
export function lineHashesTo(line: Buffer, start: number, end: number, record: unknown): boolean {
  if (typeof record !== 'object' || record === null) return false;
  const cut = end - HASH_SUFFIX;
  if (cut <= start || line[end - 1] !== 0x7d || line[end - 2] !== 0x22) return false;
  for (let i = 0; i < HASH_HEAD.length; i++) if (line[cut + i] !== HASH_HEAD.charCodeAt(i)) return false;
  line[cut] = 0x7d;
  try {
    return sha256Hex(line.subarray(start, cut + 1)) === (record as { readonly hash?: unknown }).hash;
  } finally {
    line[cut] = 0x2c; // the comma that was there (checked above)
  }
}

/**
 * Seals an entry into a record: adds `prev` (the hash of the saga's previous record, {@link SAGA_GENESIS_HASH}
 * for the first) and `hash` (SHA-256 of the canonical JSON of everything else). For {@link SagaLog}
 * implementations: a log seals each entry as it stores it.
 *
 * @param entry - The entry, plain JSON.
 * @param prev - The hash of the saga's previous record.
 * @throws {@link ValidationError} when the entry is not plain JSON.
 * @example
 * ```ts
 * import { SAGA_GENESIS_HASH, sealSagaRecord, verifySagaRecords } from 'system-design-blocks/saga';
 *
 * const record = sealSagaRecord(
 *   { sagaId: 'order-1', seq: 0, at: Date.now(), owner: 'me', type: 'saga_started', saga: 'checkout', steps: ['reserve'] },
 *   SAGA_GENESIS_HASH,
 * );
 * console.log(verifySagaRecords([record]).ok); // true
 * ```
 */
export function sealSagaRecord(entry: SagaEntry, prev: string): SagaRecord {
  return sealCanonical(entry, prev).record;
}

/**
 * Seals an entry and also returns its canonical text (the JSON its hash covers, without `hash`), so a log can
 * write the record's line without serialising it again: the line is that text with `,"hash":"…"` put before
 * its closing brace (JSON.parse of the line gives the record back). With `freeze` the record comes back
 * deep-frozen.
 */
export function sealCanonical(
  entry: SagaEntry,
  prev: string,
  freeze = false,
): { readonly record: SagaRecord; readonly text: string } {
  const { record, text } = canonicalRecord(entry as unknown as Record<string, unknown>, prev);
  record.hash = sha256Hex(text);
  if (freeze) deepFreeze(record);
  return { record: record as unknown as SagaRecord, text };
}

/** The ASCII bytes a line adds after its canonical text (whose closing brace it replaces). */
export function hashSuffix(hash: string): string {
  return `${HASH_HEAD}${hash}"}`;
}

const MAX_MESSAGE = 2_000;

/** What the log keeps of a thrown value. */
export function toErrorInfo(error: unknown): SagaErrorInfo {
  if (error instanceof Error) {
    const code: unknown = (error as { code?: unknown }).code;
    const message = error.message.length > MAX_MESSAGE ? `${error.message.slice(0, MAX_MESSAGE - 1)}…` : error.message;
    // Keys in sorted order: the record's JSON is then canonical as it is (see stringifiesCanonically).
    return typeof code === 'string' ? { code, message, name: error.name } : { message, name: error.name };
  }
  const message = typeof error === 'string' ? error.slice(0, MAX_MESSAGE) : describeValue(error);
  return { message, name: 'NonError' };
}

/** Why {@link verifySagaRecords} rejected a chain. */
export type SagaLogProblem =
  /** A record's content does not match its own hash: it was edited. */
  | 'edited'
  /** A record is not at the position its `seq` says: one was removed, inserted or moved. */
  | 'sequence'
  /** A record's `prev` is not the hash of the record before it. */
  | 'link'
  /** A record belongs to another saga. */
  | 'saga'
  /** A record is not a well-formed saga record. */
  | 'malformed'
  /** The chain verifies but does not end at the head the caller anchored. */
  | 'head';

/** The verdict of {@link verifySagaRecords} (and `SagaOrchestrator.verifyLog`). */
export type SagaLogVerification =
  | {
      /** Every record is intact, in place and chained to the one before. */
      readonly ok: true;
      /** The saga checked. */
      readonly sagaId: string;
      /** Number of records checked. */
      readonly records: number;
      /** Hash of the last record: store it elsewhere to detect a truncated tail later (`expectedHead`). */
      readonly head: string;
    }
  | {
      /** The chain is broken. */
      readonly ok: false;
      /** The saga checked. */
      readonly sagaId: string;
      /** Number of records read. */
      readonly records: number;
      /** Index of the first record at fault (the record count for `head`). */
      readonly index: number;
      /** What is wrong there. */
      readonly problem: SagaLogProblem;
      /** A sentence for people. */
      readonly message: string;
    };

/** Options of {@link verifySagaRecords}. */
export interface VerifySagaRecordsOptions {
  /**
   * A head hash recorded earlier (from a previous verification). The log only grows, so that hash must
   * still be in the chain; this detects records removed from the end, which a chain alone cannot show.
   * @defaultValue undefined (not checked)
   */
  readonly expectedHead?: string;
  /** The saga every record must belong to. @defaultValue the first record's `sagaId` */
  readonly sagaId?: string;
}

/**
 * Verifies one saga's records: each record's hash matches its content, `seq` runs 0, 1, 2…, each `prev` is
 * the hash of the record before, all belong to one saga. Detects any edited, removed, inserted or reordered
 * record; a removed tail shows only against an anchored `expectedHead`.
 *
 * @param records - The saga's records in log order.
 * @param options - The saga id to expect and an anchored head.
 * @example
 * ```ts
 * import { MemorySagaLog, verifySagaRecords } from 'system-design-blocks/saga';
 *
 * const log = new MemorySagaLog();
 * const verdict = verifySagaRecords(await log.read('order-1'));
 * console.log(verdict.ok); // true: an empty chain is intact
 * ```
 */
export function verifySagaRecords(
  records: readonly SagaRecord[],
  options: VerifySagaRecordsOptions = {},
): SagaLogVerification {
  return verify(records, options, isVouched(records));
}

/**
 * {@link verifySagaRecords} as the orchestrator runs it before driving a saga: a list a file log read back
 * from intact lines is trusted too (its lines hash to their records; only the chain is left to check).
 */
export function verifyBeforeDriving(records: readonly SagaRecord[], sagaId: string): SagaLogVerification {
  return verify(records, { sagaId }, isVouched(records) || hasIntactLines(records));
}

function verify(
  records: readonly SagaRecord[],
  options: VerifySagaRecordsOptions,
  trusted: boolean,
): SagaLogVerification {
  const sagaId = options.sagaId ?? records[0]?.sagaId ?? '';
  const fail = (index: number, problem: SagaLogProblem, message: string): SagaLogVerification => ({
    ok: false,
    sagaId,
    records: records.length,
    index,
    problem,
    message: `saga ${sagaId}, record ${index}: ${message}`,
  });
  // A trusted list holds records already checked against their hashes: only the chain is left.
  let prev = SAGA_GENESIS_HASH;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as SagaRecord;
    // A trusted list was shape-checked by its log on the way in (appended or read back).
    const shape = trusted ? undefined : recordShapeProblem(record);
    if (shape !== undefined) return fail(i, 'malformed', shape);
    if (record.sagaId !== sagaId) return fail(i, 'saga', `belongs to saga ${record.sagaId}`);
    if (!trusted) {
      let digest: string;
      try {
        digest = recordDigest(record);
      } catch {
        return fail(i, 'malformed', 'is not plain JSON');
      }
      if (digest !== record.hash) return fail(i, 'edited', 'content does not match its hash');
    }
    if (record.seq !== i) return fail(i, 'sequence', `has seq ${record.seq}, expected ${i}`);
    if (record.prev !== prev) return fail(i, 'link', 'prev is not the hash of the record before it');
    prev = record.hash;
  }
  if (options.expectedHead !== undefined && options.expectedHead !== prev) {
    const anchored = records.findIndex((r) => r.hash === options.expectedHead);
    if (anchored === -1) {
      return fail(records.length, 'head', 'the anchored head is not in the chain: records were removed or rewritten');
    }
  }
  return { ok: true, sagaId, records: records.length, head: prev };
}
