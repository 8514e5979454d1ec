/**
 * Helpers shared inside the saga block; not part of the public surface.
 */
import { type Clock, ValidationError } from '../core/index.js';
import { assertNonEmptyString, assertPositiveNumber } from '../core/validation.js';
import type { SagaClaim } from './log.js';
import { entryShapeProblem, type SagaEntry } from './records.js';

/** A lease held on a saga. */
export interface SagaLease {
  readonly owner: string;
  readonly expiresAt: number;
}

/** Leases held in memory on a clock: the part of every local log that does not need to be durable. */
export class SagaLeaseTable {
  readonly #clock: Clock;
  readonly #leases = new Map<string, SagaLease>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  claim(sagaId: string, owner: string, leaseMs: number): SagaClaim {
    assertNonEmptyString(sagaId, 'sagaId');
    assertNonEmptyString(owner, 'owner');
    assertPositiveNumber(leaseMs, 'leaseMs');
    const now = this.#clock.now();
    const held = this.#leases.get(sagaId);
    if (held !== undefined && held.owner !== owner && held.expiresAt > now) {
      return { acquired: false, owner: held.owner, expiresAt: held.expiresAt };
    }
    const expiresAt = now + leaseMs;
    this.#leases.set(sagaId, { owner, expiresAt });
    return { acquired: true, owner, expiresAt };
  }

  release(sagaId: string, owner: string): boolean {
    assertNonEmptyString(sagaId, 'sagaId');
    assertNonEmptyString(owner, 'owner');
    const held = this.#leases.get(sagaId);
    if (held === undefined || held.owner !== owner) return false;
    this.#leases.delete(sagaId);
    return true;
  }

  forget(sagaId: string): void {
    this.#leases.delete(sagaId);
  }
}

/**
 * Throws a {@link ValidationError} unless `entries` is a non-empty list of well-formed entries of one saga
 * with consecutive `seq`s, as every `SagaLog.append` takes.
 */
export function assertEntries(entries: unknown): asserts entries is readonly SagaEntry[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ValidationError({
      argument: 'entries',
      expected: 'a non-empty array of saga log entries',
      received: entries,
    });
  }
  const first = entries[0] as SagaEntry;
  for (let i = 0; i < entries.length; i++) {
    const entry: unknown = entries[i];
    const problem = entryShapeProblem(entry);
    if (problem !== undefined) {
      throw new ValidationError({
        argument: `entries[${i}]`,
        expected: `a saga log entry (${problem})`,
        received: entry,
      });
    }
    const e = entry as SagaEntry;
    if (i > 0 && (e.sagaId !== first.sagaId || e.seq !== first.seq + i)) {
      throw new ValidationError({
        argument: `entries[${i}]`,
        expected: `the next entry of saga ${first.sagaId} (seq ${first.seq + i})`,
        received: entry,
      });
    }
  }
}

/** Nesting beyond which a value to freeze is taken for a cycle (JSON from the orchestrator is far shallower). */
const MAX_DEPTH = 512;

/**
 * Freezes a JSON value and everything in it, so a stored record cannot change under the log. Already frozen
 * objects are walked too: freezing is shallow, and a frozen object may hold a mutable one.
 *
 * @throws {@link ValidationError} for a value nested deeper than 512 levels (a cycle).
 */
export function deepFreeze<T>(value: T, depth = 0): T {
  if (typeof value === 'object' && value !== null) {
    if (depth > MAX_DEPTH) {
      throw new ValidationError({ argument: 'entries', expected: 'JSON values without cycles', received: value });
    }
    for (const key in value) {
      const v: unknown = (value as Record<string, unknown>)[key];
      if (typeof v === 'object' && v !== null) deepFreeze(v, depth + 1);
    }
    if (!Object.isFrozen(value)) Object.freeze(value);
  }
  return value;
}
