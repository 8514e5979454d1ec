/**
 * The contract every {@link IdempotencyStore} must pass, runner-agnostic: pass your test runner's `it`.
 */
import assert from 'node:assert/strict';
import type { ContractTest } from '../core/index.js';
import type { IdempotencyBeginResult, IdempotencyOutcome, IdempotencyStore } from './store.js';

/** A fresh, empty store plus a way to move its clock forward. */
export interface IdempotencyStoreFixture {
  /** The store under test; empty. */
  readonly store: IdempotencyStore;
  /** Moves the store's clock forward by `ms` (a manual clock, or a real wait for a server-side clock). */
  advance(ms: number): void | Promise<void>;
  /** Releases the store's resources after the test, if it has any. */
  dispose?(): void | Promise<void>;
}

const LEASE = 1_000;
const RETENTION = 10_000;

function acquired(result: IdempotencyBeginResult): Extract<IdempotencyBeginResult, { status: 'acquired' }> {
  assert.equal(result.status, 'acquired', `expected acquired, got ${result.status}`);
  return result as Extract<IdempotencyBeginResult, { status: 'acquired' }>;
}

/**
 * Registers the idempotency store contract: begin/complete/release semantics, fingerprint mismatch, scope
 * isolation, leases and takeover with fencing tokens, checkpoints that renew the lease, retention expiry,
 * atomicity of concurrent begins, and outcomes stored as independent copies. Uses leases of 1 s and a
 * retention of 10 s, moved through `fixture.advance`.
 *
 * @param test - The runner's test function (vitest's `it`, `node:test`'s `test`, …).
 * @param factory - Builds a fresh fixture for each test.
 * @example
 * ```ts
 * import { it } from 'vitest';
 * import { ManualClock } from 'system-design-blocks';
 * import { MemoryIdempotencyStore, runIdempotencyStoreContract } from 'system-design-blocks/idempotency';
 *
 * runIdempotencyStoreContract(it, () => {
 *   const clock = new ManualClock();
 *   return { store: new MemoryIdempotencyStore({ clock }), advance: (ms) => clock.advance(ms) };
 * });
 * ```
 */
export function runIdempotencyStoreContract(
  test: ContractTest,
  factory: () => IdempotencyStoreFixture | Promise<IdempotencyStoreFixture>,
): void {
  const define = (name: string, body: (f: IdempotencyStoreFixture) => Promise<void>): void => {
    test(`IdempotencyStore contract: ${name}`, async () => {
      const fixture = await factory();
      try {
        await body(fixture);
      } finally {
        await fixture.dispose?.();
      }
    });
  };
  const begin = (store: IdempotencyStore, key: string, fingerprint = 'fp-1', scope = 'scope-a') =>
    store.begin({ scope, key, fingerprint, leaseMs: LEASE, retentionMs: RETENTION });
  const value = (v: number): IdempotencyOutcome => ({ type: 'value', value: { v } });

  define('a new key is acquired with a positive integer token and no progress', async ({ store }) => {
    const first = acquired(await begin(store, 'k'));
    assert.ok(Number.isSafeInteger(first.token) && first.token > 0);
    assert.equal(first.attempt, 1);
    assert.equal(first.progress, undefined);
    const record = await store.get({ scope: 'scope-a', key: 'k' });
    assert.equal(record?.state, 'in_progress');
    assert.equal(record?.fingerprint, 'fp-1');
  });

  define('a duplicate while the lease is live is in_progress', async ({ store, advance }) => {
    const first = acquired(await begin(store, 'k'));
    await advance(LEASE / 2);
    const second = await begin(store, 'k');
    assert.equal(second.status, 'in_progress');
    if (second.status === 'in_progress') assert.equal(second.leaseExpiresAt, first.leaseExpiresAt);
  });

  define('complete saves the outcome and later begins replay it', async ({ store }) => {
    const first = acquired(await begin(store, 'k'));
    const ok = await store.complete({
      scope: 'scope-a',
      key: 'k',
      token: first.token,
      outcome: value(1),
      retentionMs: RETENTION,
    });
    assert.equal(ok, true);
    const again = await begin(store, 'k');
    assert.equal(again.status, 'completed');
    if (again.status === 'completed') assert.deepEqual(again.outcome, value(1));
    const record = await store.get({ scope: 'scope-a', key: 'k' });
    assert.equal(record?.state, 'completed');
  });

  define('error outcomes and valueless outcomes round-trip', async ({ store }) => {
    const a = acquired(await begin(store, 'a'));
    const error: IdempotencyOutcome = {
      type: 'error',
      error: {
        name: 'PaymentDeclinedError',
        message: 'declined',
        code: 'E_PAYMENT_DECLINED',
        fields: { declineCode: 'x' },
      },
    };
    assert.equal(
      await store.complete({ scope: 'scope-a', key: 'a', token: a.token, outcome: error, retentionMs: RETENTION }),
      true,
    );
    const b = acquired(await begin(store, 'b'));
    assert.equal(
      await store.complete({
        scope: 'scope-a',
        key: 'b',
        token: b.token,
        outcome: { type: 'value' },
        retentionMs: RETENTION,
      }),
      true,
    );
    const ra = await begin(store, 'a');
    const rb = await begin(store, 'b');
    assert.equal(ra.status, 'completed');
    assert.equal(rb.status, 'completed');
    if (ra.status === 'completed') assert.deepEqual(ra.outcome, error);
    if (rb.status === 'completed') assert.deepEqual(rb.outcome, { type: 'value' });
  });

  define('a different fingerprint is a mismatch, running or completed', async ({ store }) => {
    const first = acquired(await begin(store, 'k', 'fp-1'));
    assert.equal((await begin(store, 'k', 'fp-2')).status, 'mismatch');
    await store.complete({ scope: 'scope-a', key: 'k', token: first.token, outcome: value(1), retentionMs: RETENTION });
    assert.equal((await begin(store, 'k', 'fp-2')).status, 'mismatch');
    assert.equal((await begin(store, 'k', 'fp-1')).status, 'completed');
  });

  define('scopes are isolated: the same key in another scope is a different record', async ({ store }) => {
    const a = acquired(await begin(store, 'k', 'fp-1', 'customer-1'));
    await store.complete({ scope: 'customer-1', key: 'k', token: a.token, outcome: value(1), retentionMs: RETENTION });
    const b = acquired(await begin(store, 'k', 'fp-other', 'customer-2'));
    assert.notEqual(b.token, a.token);
    assert.equal((await begin(store, 'k', 'fp-1', 'customer-1')).status, 'completed');
    assert.equal((await store.get({ scope: 'customer-2', key: 'k' }))?.state, 'in_progress');
  });

  define('release without progress forgets the key; a retry (even a new payload) starts afresh', async ({ store }) => {
    const first = acquired(await begin(store, 'k', 'fp-1'));
    assert.equal(await store.release({ scope: 'scope-a', key: 'k', token: first.token }), true);
    assert.equal(await store.get({ scope: 'scope-a', key: 'k' }), undefined);
    const second = acquired(await begin(store, 'k', 'fp-2'));
    assert.equal(second.attempt, 1);
    assert.ok(second.token > first.token, 'tokens increase even after the record was deleted');
  });

  define('release with progress keeps it for the next holder, with a greater token', async ({ store }) => {
    const first = acquired(await begin(store, 'k'));
    assert.equal(
      await store.checkpoint({
        scope: 'scope-a',
        key: 'k',
        token: first.token,
        progress: { phase: 'charge_requested' },
        leaseMs: LEASE,
      }),
      true,
    );
    assert.equal(await store.release({ scope: 'scope-a', key: 'k', token: first.token }), true);
    assert.equal((await begin(store, 'k', 'fp-2')).status, 'mismatch');
    const second = acquired(await begin(store, 'k'));
    assert.equal(second.attempt, 2);
    assert.ok(second.token > first.token);
    assert.deepEqual(second.progress, { phase: 'charge_requested' });
  });

  define('an expired lease is taken over; the stale token then writes nothing', async ({ store, advance }) => {
    const stale = acquired(await begin(store, 'k'));
    await store.checkpoint({ scope: 'scope-a', key: 'k', token: stale.token, progress: { step: 1 }, leaseMs: LEASE });
    await advance(LEASE + 1);
    const fresh = acquired(await begin(store, 'k'));
    assert.ok(fresh.token > stale.token);
    assert.equal(fresh.attempt, 2);
    assert.deepEqual(fresh.progress, { step: 1 });
    const id = { scope: 'scope-a', key: 'k' };
    assert.equal(await store.checkpoint({ ...id, token: stale.token, progress: { step: 99 }, leaseMs: LEASE }), false);
    assert.equal(
      await store.complete({ ...id, token: stale.token, outcome: value(99), retentionMs: RETENTION }),
      false,
    );
    assert.equal(await store.release({ ...id, token: stale.token }), false);
    const record = await store.get(id);
    assert.equal(record?.state, 'in_progress');
    if (record?.state === 'in_progress') {
      assert.equal(record.token, fresh.token);
      assert.deepEqual(record.progress, { step: 1 });
    }
    assert.equal(await store.complete({ ...id, token: fresh.token, outcome: value(2), retentionMs: RETENTION }), true);
    const replay = await begin(store, 'k');
    assert.equal(replay.status, 'completed');
    if (replay.status === 'completed') assert.deepEqual(replay.outcome, value(2));
  });

  define('a holder whose lease ran out may still complete while nobody took over', async ({ store, advance }) => {
    const first = acquired(await begin(store, 'k'));
    await advance(LEASE * 2);
    assert.equal(
      await store.complete({
        scope: 'scope-a',
        key: 'k',
        token: first.token,
        outcome: value(1),
        retentionMs: RETENTION,
      }),
      true,
    );
  });

  define('checkpoint renews the lease', async ({ store, advance }) => {
    const first = acquired(await begin(store, 'k'));
    await advance(LEASE * 0.75);
    assert.equal(
      await store.checkpoint({ scope: 'scope-a', key: 'k', token: first.token, progress: 1, leaseMs: LEASE }),
      true,
    );
    await advance(LEASE * 0.75);
    assert.equal((await begin(store, 'k')).status, 'in_progress');
    await advance(LEASE * 0.5);
    assert.equal((await begin(store, 'k')).status, 'acquired');
  });

  define('completed outcomes expire after the retention; the key is then new', async ({ store, advance }) => {
    const first = acquired(await begin(store, 'k'));
    await store.complete({ scope: 'scope-a', key: 'k', token: first.token, outcome: value(1), retentionMs: RETENTION });
    await advance(RETENTION - 1);
    assert.equal((await begin(store, 'k')).status, 'completed');
    await advance(1);
    assert.equal(await store.get({ scope: 'scope-a', key: 'k' }), undefined);
    const again = acquired(await begin(store, 'k', 'fp-new'));
    assert.ok(again.token > first.token);
    assert.equal(again.attempt, 1);
  });

  define('abandoned in-progress records expire after lease plus retention', async ({ store, advance }) => {
    acquired(await begin(store, 'k'));
    await advance(LEASE + RETENTION);
    assert.equal(await store.get({ scope: 'scope-a', key: 'k' }), undefined);
    assert.equal((await store.listUnfinished()).length, 0);
  });

  define('concurrent begins on one key: exactly one acquires', async ({ store }) => {
    const results = await Promise.all(Array.from({ length: 20 }, () => begin(store, 'k')));
    assert.equal(results.filter((r) => r.status === 'acquired').length, 1);
    assert.equal(results.filter((r) => r.status === 'in_progress').length, 19);
  });

  define('concurrent takeovers of an expired lease: exactly one acquires', async ({ store, advance }) => {
    acquired(await begin(store, 'k'));
    await advance(LEASE + 1);
    const results = await Promise.all(Array.from({ length: 20 }, () => begin(store, 'k')));
    assert.equal(results.filter((r) => r.status === 'acquired').length, 1);
  });

  define('complete and release race: only one of them wins', async ({ store }) => {
    const first = acquired(await begin(store, 'k'));
    const id = { scope: 'scope-a', key: 'k', token: first.token };
    const [completed, released] = await Promise.all([
      store.complete({ ...id, outcome: value(1), retentionMs: RETENTION }),
      store.release(id),
    ]);
    assert.equal(Number(completed) + Number(released), 1);
    assert.equal(await store.complete({ ...id, outcome: value(2), retentionMs: RETENTION }), false);
  });

  define('writes to unknown keys change nothing', async ({ store }) => {
    const id = { scope: 'scope-a', key: 'nope', token: 1 };
    assert.equal(await store.complete({ ...id, outcome: value(1), retentionMs: RETENTION }), false);
    assert.equal(await store.checkpoint({ ...id, progress: 1, leaseMs: LEASE }), false);
    assert.equal(await store.release(id), false);
    assert.equal(await store.get({ scope: 'scope-a', key: 'nope' }), undefined);
  });

  define('stored outcomes and progress are copies, not the caller’s objects', async ({ store }) => {
    const first = acquired(await begin(store, 'k'));
    const progress = { items: [1, 2] };
    await store.checkpoint({ scope: 'scope-a', key: 'k', token: first.token, progress, leaseMs: LEASE });
    progress.items.push(3);
    const outcome = { type: 'value' as const, value: { list: ['a'] } };
    await store.complete({ scope: 'scope-a', key: 'k', token: first.token, outcome, retentionMs: RETENTION });
    outcome.value.list.push('b');
    const replay = await begin(store, 'k');
    assert.equal(replay.status, 'completed');
    if (replay.status === 'completed') assert.deepEqual(replay.outcome, { type: 'value', value: { list: ['a'] } });
  });

  define('listUnfinished returns in-progress records, filtered by scope prefix and limited', async ({ store }) => {
    const a = acquired(await begin(store, 'a', 'fp', 'payments/1'));
    acquired(await begin(store, 'b', 'fp', 'payments/2'));
    acquired(await begin(store, 'c', 'fp', 'other/1'));
    await store.complete({ scope: 'payments/1', key: 'a', token: a.token, outcome: value(1), retentionMs: RETENTION });
    const all = await store.listUnfinished();
    assert.deepEqual(all.map((r) => r.key).sort(), ['b', 'c']);
    const payments = await store.listUnfinished({ scopePrefix: 'payments/' });
    assert.deepEqual(
      payments.map((r) => r.key),
      ['b'],
    );
    assert.equal((await store.listUnfinished({ limit: 1 })).length, 1);
  });
}
