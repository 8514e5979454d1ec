/**
 * The records of the saga log: what each transition writes, how records are sealed into a per-saga SHA-256
 * chain, and how a chain is verified.
 */
import { canonicalJson, describeValue, type JsonValue, sha256Hex } from '../core/index.js';

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

/** Every field a record can carry except `hash`, in canonical (sorted) order, with its JSON key prefix. */
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
const PREFIXES: readonly string[] = FIELDS.map((field) => `${JSON.stringify(field)}:`);

/** JSON text of short strings that repeat from record to record (types, steps, owners, saga ids). */
const quoted = new Map<string, string>();

/** True for a 64-character lowercase hex string (a digest): JSON needs no escaping for it. */
function isDigest(value: string): boolean {
  if (value.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function quote(value: string): string {
  if (value.length > 64) return JSON.stringify(value);
  if (value.length === 64 && isDigest(value)) return `"${value}"`;
  let text = quoted.get(value);
  if (text === undefined) {
    if (quoted.size >= 4_096) quoted.clear();
    text = JSON.stringify(value);
    quoted.set(value, text);
  }
  return text;
}

/** JSON text of a primitive, or `undefined` for anything else (and for non-finite numbers). */
function primitiveText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return value === null ? 'null' : undefined;
  }
}

/**
 * Canonical text of a flat array or plain object of primitives (step lists, error infos, most outputs), or
 * `undefined` to leave anything else to `canonicalJson`. Same text as `canonicalJson` gives.
 */
function flatText(value: object): string | undefined {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const text = primitiveText(value[i]);
      if (text === undefined) return undefined;
      out += i === 0 ? text : `,${text}`;
    }
    return `${out}]`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v: unknown = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const text = primitiveText(v);
    if (text === undefined) return undefined;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${text}`;
    first = false;
  }
  return `${out}}`;
}

function fieldText(value: unknown, field: string): string {
  const text = primitiveText(value);
  if (text !== undefined) return text;
  if (typeof value === 'object' && value !== null) {
    const flat = flatText(value);
    if (flat !== undefined) return flat;
  }
  return canonicalJson(value, `record.${field}`);
}

/**
 * Canonical JSON of a flat record without its `hash`: the text `canonicalJson` gives (a property test holds
 * them equal), built from the known fields in their sorted order instead of sorting keys every time. A
 * record with any other field takes the generic path.
 */
function canonicalRecord(record: Readonly<Record<string, unknown>>): string {
  let out = '{';
  let used = 0;
  for (let i = 0; i < FIELDS.length; i++) {
    const field = FIELDS[i] as string;
    const value = record[field];
    if (value === undefined) continue;
    if (used++ > 0) out += ',';
    out += PREFIXES[i] as string;
    out += fieldText(value, field);
  }
  let present = 0;
  for (const key in record) if (key !== 'hash' && record[key] !== undefined) present++;
  if (present === used) return `${out}}`;
  const rest: Record<string, unknown> = {};
  for (const key in record) if (key !== 'hash') rest[key] = record[key];
  return canonicalJson(rest, 'record');
}

/** SHA-256 of a record's canonical JSON without its `hash` field. */
export function recordDigest(record: SagaRecord | SagaEntry): string {
  return sha256Hex(canonicalRecord(record as unknown as Record<string, unknown>));
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
  return sealWithText(entry, prev).record;
}

/**
 * Seals an entry and also returns the record as one line of JSON: its canonical text with the hash added
 * last, so a file log need not serialise it again (JSON.parse of the line gives the record back).
 */
export function sealWithText(entry: SagaEntry, prev: string): { readonly record: SagaRecord; readonly line: string } {
  const record: Record<string, unknown> = {};
  for (const key in entry) record[key] = (entry as unknown as Record<string, unknown>)[key];
  record.prev = prev;
  const text = canonicalRecord(record);
  const hash = sha256Hex(text);
  record.hash = hash;
  return { record: record as unknown as SagaRecord, line: `${text.slice(0, -1)},"hash":"${hash}"}` };
}

const MAX_MESSAGE = 2_000;

/** What the log keeps of a thrown value. */
export function toErrorInfo(error: unknown): SagaErrorInfo {
  if (error instanceof Error) {
    const code: unknown = (error as { code?: unknown }).code;
    const message = error.message.length > MAX_MESSAGE ? `${error.message.slice(0, MAX_MESSAGE - 1)}…` : error.message;
    return typeof code === 'string' ? { name: error.name, message, code } : { name: error.name, message };
  }
  const message = typeof error === 'string' ? error.slice(0, MAX_MESSAGE) : describeValue(error);
  return { name: 'NonError', message };
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
  const sagaId = options.sagaId ?? records[0]?.sagaId ?? '';
  const fail = (index: number, problem: SagaLogProblem, message: string): SagaLogVerification => ({
    ok: false,
    sagaId,
    records: records.length,
    index,
    problem,
    message: `saga ${sagaId}, record ${index}: ${message}`,
  });
  let prev = SAGA_GENESIS_HASH;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as SagaRecord;
    const shape = recordShapeProblem(record);
    if (shape !== undefined) return fail(i, 'malformed', shape);
    if (record.sagaId !== sagaId) return fail(i, 'saga', `belongs to saga ${record.sagaId}`);
    let digest: string;
    try {
      digest = recordDigest(record);
    } catch {
      return fail(i, 'malformed', 'is not plain JSON');
    }
    if (digest !== record.hash) return fail(i, 'edited', 'content does not match its hash');
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
