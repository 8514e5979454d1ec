/**
 * The idempotency store: one record per (scope, key) holding a lease with a fencing token while a request
 * runs, its recovery point, and the saved outcome once it finished. The interface is async and each method is
 * atomic, so Redis (a Lua script per method) and PostgreSQL (one statement or transaction per method) stores
 * can implement it; {@link MemoryIdempotencyStore} is the in-process default.
 */
import { type Clock, type JsonValue, systemClock } from '../core/index.js';
import {
  assertFunction,
  assertNonEmptyString,
  assertObject,
  assertOneOf,
  assertPositiveInteger,
  assertPositiveNumber,
  invalid,
  optionsObject,
} from '../core/validation.js';
import { frozenJsonCopy } from './json.js';

/** A terminal error as the store keeps it: enough to rebuild an equivalent error on replay. */
export interface IdempotencyStoredError {
  /** The error's `name`, e.g. `PaymentDeclinedError`. */
  readonly name: string;
  /** The error's message. */
  readonly message: string;
  /** The stable `code` of a package error, when the error had one. */
  readonly code?: string;
  /** The error's other JSON-serialisable own fields (context such as `declineCode`). */
  readonly fields?: { readonly [field: string]: JsonValue };
}

/**
 * The saved outcome of a request: the handler's value (as JSON; absent when the handler returned
 * `undefined`) or the terminal error it threw.
 */
export type IdempotencyOutcome =
  | {
      /** The handler returned a value. */
      readonly type: 'value';
      /** The value as JSON; absent when the handler returned `undefined`. */
      readonly value?: JsonValue;
    }
  | {
      /** The handler threw a terminal error. */
      readonly type: 'error';
      /** The error as stored. */
      readonly error: IdempotencyStoredError;
    };

/** What every record holds. */
export interface IdempotencyRecordBase {
  /** Caller identity the key is scoped to. */
  readonly scope: string;
  /** The client's idempotency key. */
  readonly key: string;
  /** Fingerprint of the request that created the record; a different one means the key was reused. */
  readonly fingerprint: string;
  /** When the record was created, in ms on the store's clock. */
  readonly createdAt: number;
}

/** A request that is running, or was abandoned and may be taken over once its lease expires. */
export interface IdempotencyInProgressRecord extends IdempotencyRecordBase {
  /** Discriminant. */
  readonly state: 'in_progress';
  /** Fencing token of the current (or last) holder; only that token may write. */
  readonly token: number;
  /** How many times the record was acquired (1 for the first run, +1 per takeover or retry). */
  readonly attempt: number;
  /** When the holder's lease ends and another worker may take over, in ms on the store's clock. */
  readonly leaseExpiresAt: number;
  /** The last recovery point saved with `checkpoint`, if any. */
  readonly progress?: JsonValue;
}

/** A request that finished; its outcome is replayed until the record expires. */
export interface IdempotencyCompletedRecord extends IdempotencyRecordBase {
  /** Discriminant. */
  readonly state: 'completed';
  /** When it completed, in ms on the store's clock. */
  readonly completedAt: number;
  /** When the record is forgotten and the key may be used afresh, in ms on the store's clock. */
  readonly expiresAt: number;
  /** The saved outcome. */
  readonly outcome: IdempotencyOutcome;
}

/** A stored record, in one of its two states. */
export type IdempotencyRecord = IdempotencyInProgressRecord | IdempotencyCompletedRecord;

/** Input of {@link IdempotencyStore.begin}. */
export interface IdempotencyBeginInput {
  /** Caller identity the key is scoped to. */
  readonly scope: string;
  /** The client's idempotency key. */
  readonly key: string;
  /** Fingerprint of this request's payload. */
  readonly fingerprint: string;
  /** Length of the lease granted on `acquired`, in ms. */
  readonly leaseMs: number;
  /** How long an abandoned record is kept after its lease ends, in ms. */
  readonly retentionMs: number;
}

/** What {@link IdempotencyStore.begin} found, as a discriminated union on `status`. */
export type IdempotencyBeginResult =
  | {
      /** The caller holds the lease and must run the request, then `complete` or `release` with the token. */
      readonly status: 'acquired';
      /** Fencing token: strictly greater than any token issued before for this key. */
      readonly token: number;
      /** 1 for a fresh record, more when an expired or released attempt is taken over. */
      readonly attempt: number;
      /** The recovery point an earlier holder saved, to resume from. */
      readonly progress: JsonValue | undefined;
      /** When this lease ends, in ms on the store's clock. */
      readonly leaseExpiresAt: number;
    }
  | {
      /** Another holder's lease is live. */
      readonly status: 'in_progress';
      /** When that lease ends, in ms on the store's clock. */
      readonly leaseExpiresAt: number;
    }
  | {
      /** The request finished earlier: replay its outcome. */
      readonly status: 'completed';
      /** The saved outcome. */
      readonly outcome: IdempotencyOutcome;
      /** When it completed, in ms on the store's clock. */
      readonly completedAt: number;
    }
  | {
      /** The key exists with a different fingerprint. */
      readonly status: 'mismatch';
    };

/** Input of {@link IdempotencyStore.checkpoint}. */
export interface IdempotencyCheckpointInput {
  /** Caller scope. */
  readonly scope: string;
  /** Idempotency key. */
  readonly key: string;
  /** The holder's fencing token. */
  readonly token: number;
  /** The recovery point to save (replaces the previous one). */
  readonly progress: JsonValue;
  /** The lease is renewed to now + `leaseMs`. */
  readonly leaseMs: number;
}

/** Input of {@link IdempotencyStore.complete}. */
export interface IdempotencyCompleteInput {
  /** Caller scope. */
  readonly scope: string;
  /** Idempotency key. */
  readonly key: string;
  /** The holder's fencing token. */
  readonly token: number;
  /** The outcome to save and replay. */
  readonly outcome: IdempotencyOutcome;
  /** How long the outcome is kept, in ms. */
  readonly retentionMs: number;
}

/** Input of {@link IdempotencyStore.release}. */
export interface IdempotencyReleaseInput {
  /** Caller scope. */
  readonly scope: string;
  /** Idempotency key. */
  readonly key: string;
  /** The holder's fencing token. */
  readonly token: number;
}

/** Identifies one record. */
export interface IdempotencyRecordId {
  /** Caller scope. */
  readonly scope: string;
  /** Idempotency key. */
  readonly key: string;
}

/** Input of {@link IdempotencyStore.listUnfinished}. */
export interface IdempotencyListInput {
  /** Only records whose scope starts with this. @defaultValue '' (all) */
  readonly scopePrefix?: string;
  /** At most this many records. @defaultValue no limit */
  readonly limit?: number;
}

/**
 * Where idempotency records live. Every method is atomic with respect to every other call on the same record;
 * time (leases, retention) is the store's own clock. Writes with a token that is not the record's current one
 * change nothing and return `false`: that is the fence that stops a stale holder. Any implementation must pass
 * {@link runIdempotencyStoreContract}.
 */
export interface IdempotencyStore {
  /**
   * Starts or looks up a request. Creates the record and returns `acquired` when the key is new (or its
   * record expired); takes over an in-progress record whose lease ended (same fingerprint only), returning
   * `acquired` with a new, greater token and the saved progress; otherwise reports `in_progress`,
   * `completed` or `mismatch`.
   */
  begin(input: IdempotencyBeginInput): Promise<IdempotencyBeginResult>;
  /** Saves a recovery point and renews the lease, if `token` is current. Returns whether it was saved. */
  checkpoint(input: IdempotencyCheckpointInput): Promise<boolean>;
  /** Saves the outcome and ends the lease, if `token` is current. Returns whether it was saved. */
  complete(input: IdempotencyCompleteInput): Promise<boolean>;
  /**
   * Gives the key back so a retry may run, if `token` is current: a record without progress is deleted, one
   * with progress keeps it for the next holder and its lease ends now. Returns whether it was released.
   */
  release(input: IdempotencyReleaseInput): Promise<boolean>;
  /** The record, or `undefined` when there is none (or it expired). */
  get(id: IdempotencyRecordId): Promise<IdempotencyRecord | undefined>;
  /** In-progress records (live or abandoned), oldest first: what a recovery sweep must look at. */
  listUnfinished(input?: IdempotencyListInput): Promise<readonly IdempotencyRecord[]>;
}

/** Options of {@link MemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** Clock for leases and retention. @defaultValue systemClock */
  readonly clock?: Clock;
}

interface Entry {
  record: IdempotencyRecord;
  version: number;
  expiresAt: number;
}

interface HeapItem {
  readonly at: number;
  readonly id: string;
  readonly version: number;
}

function recordId(scope: string, key: string): string {
  return `${scope.length}:${scope}:${key}`;
}

function checkId(input: IdempotencyRecordId, argument: string): void {
  assertObject(input, argument);
  if (typeof input.scope !== 'string') invalid(`${argument}.scope`, 'a string', input.scope);
  assertNonEmptyString(input.key, `${argument}.key`);
}

function checkOutcome(outcome: IdempotencyOutcome, argument: string): void {
  assertObject(outcome, argument);
  assertOneOf(outcome.type, `${argument}.type`, ['value', 'error'] as const);
  if (outcome.type === 'error') {
    assertObject(outcome.error, `${argument}.error`);
    if (typeof outcome.error.name !== 'string') invalid(`${argument}.error.name`, 'a string', outcome.error.name);
    if (typeof outcome.error.message !== 'string') {
      invalid(`${argument}.error.message`, 'a string', outcome.error.message);
    }
  }
}

/**
 * The in-memory {@link IdempotencyStore}: atomic because each method runs to completion synchronously on the
 * event loop. Expired records are pruned as operations run (a heap of expiry times), so memory is bounded by
 * the traffic within the retention window. Values are stored as frozen JSON copies, exactly what a persistent
 * store would keep.
 *
 * @example
 * ```ts
 * import { MemoryIdempotencyStore } from 'system-design-blocks/idempotency';
 *
 * const store = new MemoryIdempotencyStore();
 * const first = await store.begin({ scope: 'c1', key: 'k1', fingerprint: 'f', leaseMs: 30_000, retentionMs: 86_400_000 });
 * if (first.status === 'acquired') {
 *   await store.complete({ scope: 'c1', key: 'k1', token: first.token, outcome: { type: 'value', value: 42 }, retentionMs: 86_400_000 });
 * }
 * const again = await store.begin({ scope: 'c1', key: 'k1', fingerprint: 'f', leaseMs: 30_000, retentionMs: 86_400_000 });
 * console.log(again.status); // completed
 * ```
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  #heap: HeapItem[] = [];
  #nextToken = 1;
  #version = 0;

  /**
   * @param options - Clock; validated here.
   * @throws `ValidationError` on a bad option.
   */
  constructor(options?: MemoryIdempotencyStoreOptions) {
    const o = optionsObject(options, 'options');
    this.#clock = o.clock ?? systemClock;
    assertObject(this.#clock, 'options.clock');
    assertFunction(this.#clock.now, 'options.clock.now');
  }

  /** Number of records held (in progress or completed and not yet expired). */
  get size(): number {
    this.#prune(this.#clock.now());
    return this.#entries.size;
  }

  /** {@inheritDoc IdempotencyStore.begin} */
  async begin(input: IdempotencyBeginInput): Promise<IdempotencyBeginResult> {
    checkId(input, 'input');
    assertNonEmptyString(input.fingerprint, 'input.fingerprint');
    assertPositiveNumber(input.leaseMs, 'input.leaseMs');
    assertPositiveNumber(input.retentionMs, 'input.retentionMs');
    const now = this.#clock.now();
    this.#prune(now);
    const id = recordId(input.scope, input.key);
    const entry = this.#entries.get(id);
    if (entry === undefined) {
      const record: IdempotencyInProgressRecord = Object.freeze({
        state: 'in_progress',
        scope: input.scope,
        key: input.key,
        fingerprint: input.fingerprint,
        createdAt: now,
        token: this.#nextToken++,
        attempt: 1,
        leaseExpiresAt: now + input.leaseMs,
      });
      this.#set(id, record, record.leaseExpiresAt + input.retentionMs);
      return {
        status: 'acquired',
        token: record.token,
        attempt: 1,
        progress: undefined,
        leaseExpiresAt: record.leaseExpiresAt,
      };
    }
    const current = entry.record;
    if (current.fingerprint !== input.fingerprint) return { status: 'mismatch' };
    if (current.state === 'completed') {
      return { status: 'completed', outcome: current.outcome, completedAt: current.completedAt };
    }
    if (current.leaseExpiresAt > now) return { status: 'in_progress', leaseExpiresAt: current.leaseExpiresAt };
    const record: IdempotencyInProgressRecord = Object.freeze({
      ...current,
      token: this.#nextToken++,
      attempt: current.attempt + 1,
      leaseExpiresAt: now + input.leaseMs,
    });
    this.#set(id, record, record.leaseExpiresAt + input.retentionMs);
    return {
      status: 'acquired',
      token: record.token,
      attempt: record.attempt,
      progress: record.progress,
      leaseExpiresAt: record.leaseExpiresAt,
    };
  }

  /** {@inheritDoc IdempotencyStore.checkpoint} */
  async checkpoint(input: IdempotencyCheckpointInput): Promise<boolean> {
    checkId(input, 'input');
    assertPositiveInteger(input.token, 'input.token');
    assertPositiveNumber(input.leaseMs, 'input.leaseMs');
    const progress = frozenJsonCopy(input.progress, 'input.progress');
    const now = this.#clock.now();
    this.#prune(now);
    const id = recordId(input.scope, input.key);
    const entry = this.#current(id, input.token);
    if (entry === undefined) return false;
    const held = entry.record as IdempotencyInProgressRecord;
    const leaseExpiresAt = now + input.leaseMs;
    // Keep the retention an abandoned record was given at begin, counted from the renewed lease.
    const retention = entry.expiresAt - held.leaseExpiresAt;
    this.#set(id, Object.freeze({ ...held, progress, leaseExpiresAt }), leaseExpiresAt + retention);
    return true;
  }

  /** {@inheritDoc IdempotencyStore.complete} */
  async complete(input: IdempotencyCompleteInput): Promise<boolean> {
    checkId(input, 'input');
    assertPositiveInteger(input.token, 'input.token');
    assertPositiveNumber(input.retentionMs, 'input.retentionMs');
    checkOutcome(input.outcome, 'input.outcome');
    const outcome = frozenJsonCopy(input.outcome, 'input.outcome');
    const now = this.#clock.now();
    this.#prune(now);
    const id = recordId(input.scope, input.key);
    const entry = this.#current(id, input.token);
    if (entry === undefined) return false;
    const held = entry.record;
    const expiresAt = now + input.retentionMs;
    const record: IdempotencyCompletedRecord = Object.freeze({
      state: 'completed',
      scope: held.scope,
      key: held.key,
      fingerprint: held.fingerprint,
      createdAt: held.createdAt,
      completedAt: now,
      expiresAt,
      outcome,
    });
    this.#set(id, record, expiresAt);
    return true;
  }

  /** {@inheritDoc IdempotencyStore.release} */
  async release(input: IdempotencyReleaseInput): Promise<boolean> {
    checkId(input, 'input');
    assertPositiveInteger(input.token, 'input.token');
    const now = this.#clock.now();
    this.#prune(now);
    const id = recordId(input.scope, input.key);
    const entry = this.#current(id, input.token);
    if (entry === undefined) return false;
    const held = entry.record as IdempotencyInProgressRecord;
    if (held.progress === undefined) {
      this.#entries.delete(id);
    } else {
      const retention = entry.expiresAt - held.leaseExpiresAt;
      this.#set(id, Object.freeze({ ...held, leaseExpiresAt: now }), now + retention);
    }
    return true;
  }

  /** {@inheritDoc IdempotencyStore.get} */
  async get(id: IdempotencyRecordId): Promise<IdempotencyRecord | undefined> {
    checkId(id, 'id');
    this.#prune(this.#clock.now());
    return this.#entries.get(recordId(id.scope, id.key))?.record;
  }

  /** {@inheritDoc IdempotencyStore.listUnfinished} */
  async listUnfinished(input?: IdempotencyListInput): Promise<readonly IdempotencyRecord[]> {
    const o = optionsObject(input, 'input');
    const prefix = o.scopePrefix ?? '';
    if (typeof prefix !== 'string') invalid('input.scopePrefix', 'a string', prefix);
    const limit = o.limit ?? Number.POSITIVE_INFINITY;
    if (o.limit !== undefined) assertPositiveInteger(limit, 'input.limit');
    this.#prune(this.#clock.now());
    const out: IdempotencyRecord[] = [];
    for (const { record } of this.#entries.values()) {
      if (out.length >= limit) break;
      if (record.state === 'in_progress' && record.scope.startsWith(prefix)) out.push(record);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  #current(id: string, token: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.record.state !== 'in_progress' || entry.record.token !== token) return undefined;
    return entry;
  }

  #set(id: string, record: IdempotencyRecord, expiresAt: number): void {
    const version = ++this.#version;
    const entry = this.#entries.get(id);
    if (entry === undefined) {
      this.#entries.set(id, { record, version, expiresAt });
    } else {
      entry.record = record;
      entry.version = version;
      entry.expiresAt = expiresAt;
    }
    this.#push({ at: expiresAt, id, version });
    // Superseded heap items are skipped lazily; rebuild when they dominate so the heap stays O(records).
    if (this.#heap.length > 64 && this.#heap.length > 4 * this.#entries.size) this.#rebuild();
  }

  #prune(now: number): void {
    const heap = this.#heap;
    while (heap.length > 0 && (heap[0] as HeapItem).at <= now) {
      const item = this.#pop();
      const entry = this.#entries.get(item.id);
      if (entry !== undefined && entry.version === item.version && entry.expiresAt <= now) {
        this.#entries.delete(item.id);
      }
    }
  }

  #rebuild(): void {
    this.#heap = [];
    for (const [id, entry] of this.#entries) this.#push({ at: entry.expiresAt, id, version: entry.version });
  }

  #push(item: HeapItem): void {
    const heap = this.#heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as HeapItem).at <= item.at) break;
      heap[i] = heap[parent] as HeapItem;
      i = parent;
    }
    heap[i] = item;
  }

  #pop(): HeapItem {
    const heap = this.#heap;
    const top = heap[0] as HeapItem;
    const last = heap.pop() as HeapItem;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && (heap[right] as HeapItem).at < (heap[left] as HeapItem).at ? right : left;
        if ((heap[child] as HeapItem).at >= last.at) break;
        heap[i] = heap[child] as HeapItem;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
