import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidationError, ManualClock } from '../../src/core/index.js';
import {
  type IdempotencyBeginResult,
  type IdempotencyOutcome,
  MemoryIdempotencyStore,
  runIdempotencyStoreContract,
} from '../../src/idempotency/index.js';

describe('MemoryIdempotencyStore', () => {
  runIdempotencyStoreContract(it, () => {
    const clock = new ManualClock();
    return { store: new MemoryIdempotencyStore({ clock }), advance: (ms) => clock.advance(ms) };
  });

  const base = { scope: 's', key: 'k', fingerprint: 'f', leaseMs: 100, retentionMs: 1_000 };

  it('rejects bad input with a ValidationError naming the argument, changing nothing', async () => {
    const store = new MemoryIdempotencyStore({ clock: new ManualClock() });
    const cases: [Promise<unknown>, string][] = [
      [store.begin({ ...base, key: '' }), 'input.key'],
      [store.begin({ ...base, fingerprint: '' }), 'input.fingerprint'],
      [store.begin({ ...base, leaseMs: 0 }), 'input.leaseMs'],
      [store.begin({ ...base, retentionMs: Number.POSITIVE_INFINITY }), 'input.retentionMs'],
      [store.complete({ scope: 's', key: 'k', token: 1.5, outcome: { type: 'value' }, retentionMs: 1 }), 'input.token'],
      [
        store.complete({
          scope: 's',
          key: 'k',
          token: 1,
          outcome: { type: 'value', value: new Date() as never },
          retentionMs: 1,
        }),
        'input.outcome.value',
      ],
      [
        store.checkpoint({ scope: 's', key: 'k', token: 1, progress: (() => 1) as never, leaseMs: 1 }),
        'input.progress',
      ],
      [store.listUnfinished({ limit: 0 }), 'input.limit'],
    ];
    for (const [promise, argument] of cases) {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isValidationError(error), argument).toBe(true);
      if (isValidationError(error)) expect(error.argument).toBe(argument);
    }
    expect(store.size).toBe(0);
    expect(() => new MemoryIdempotencyStore({ clock: 5 as never })).toThrow(/options.clock/);
  });

  it('prunes expired records, so memory is bounded by the retention window', async () => {
    const clock = new ManualClock();
    const store = new MemoryIdempotencyStore({ clock });
    for (let i = 0; i < 2_000; i++) {
      const r = await store.begin({ ...base, key: `k${i}` });
      if (r.status === 'acquired') {
        await store.complete({
          scope: 's',
          key: `k${i}`,
          token: r.token,
          outcome: { type: 'value', value: i },
          retentionMs: 100,
        });
      }
      clock.advance(1);
    }
    // Records live 100 ms and one arrives per ms.
    expect(store.size).toBeLessThanOrEqual(101);
    expect(store.size).toBeGreaterThanOrEqual(99);
  });

  it('hands out frozen records that callers cannot change', async () => {
    const store = new MemoryIdempotencyStore({ clock: new ManualClock() });
    const r = await store.begin(base);
    if (r.status !== 'acquired') throw new Error('expected acquired');
    await store.complete({
      scope: 's',
      key: 'k',
      token: r.token,
      outcome: { type: 'value', value: { a: [1] } },
      retentionMs: 10,
    });
    const record = await store.get({ scope: 's', key: 'k' });
    expect(Object.isFrozen(record)).toBe(true);
    expect(() => {
      (record as unknown as { state: string }).state = 'in_progress';
    }).toThrow(TypeError);
  });

  it('keys with separators in the scope cannot collide', async () => {
    const store = new MemoryIdempotencyStore({ clock: new ManualClock() });
    const a = await store.begin({ ...base, scope: 'a:1', key: 'x' });
    const b = await store.begin({ ...base, scope: 'a', key: '1:x' });
    expect(a.status).toBe('acquired');
    expect(b.status).toBe('acquired');
  });

  // Model-based: random command sequences against a plain reference model of the same semantics.
  it('matches a reference model under random operation sequences', async () => {
    type ModelRecord =
      | {
          state: 'in_progress';
          fp: string;
          token: number;
          lease: number;
          progress: number | undefined;
          expires: number;
        }
      | { state: 'completed'; fp: string; outcome: number; expires: number };
    const LEASE = 10;
    const RET = 50;
    const keys = ['a', 'b'];
    const fps = ['f1', 'f2'];
    const command = fc.oneof(
      fc.record({ op: fc.constant('begin' as const), key: fc.constantFrom(...keys), fp: fc.constantFrom(...fps) }),
      fc.record({ op: fc.constant('complete' as const), key: fc.constantFrom(...keys), stale: fc.boolean() }),
      fc.record({ op: fc.constant('release' as const), key: fc.constantFrom(...keys), stale: fc.boolean() }),
      fc.record({ op: fc.constant('checkpoint' as const), key: fc.constantFrom(...keys), stale: fc.boolean() }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 40 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), async (commands) => {
        const clock = new ManualClock();
        const store = new MemoryIdempotencyStore({ clock });
        const model = new Map<string, ModelRecord>();
        const lastToken = new Map<string, number>();
        let step = 0;
        const live = (key: string): ModelRecord | undefined => {
          const r = model.get(key);
          if (r !== undefined && r.expires <= clock.now()) {
            model.delete(key);
            return undefined;
          }
          return r;
        };
        for (const c of commands) {
          step++;
          if (c.op === 'advance') {
            clock.advance(c.ms);
            continue;
          }
          const now = clock.now();
          const r = live(c.key);
          const held = lastToken.get(c.key) ?? 0;
          if (c.op === 'begin') {
            const got: IdempotencyBeginResult = await store.begin({
              scope: 's',
              key: c.key,
              fingerprint: c.fp,
              leaseMs: LEASE,
              retentionMs: RET,
            });
            let expected: string;
            if (r === undefined) expected = 'acquired';
            else if (r.fp !== c.fp) expected = 'mismatch';
            else if (r.state === 'completed') expected = 'completed';
            else if (r.lease > now) expected = 'in_progress';
            else expected = 'acquired';
            expect(got.status).toBe(expected);
            if (got.status === 'acquired') {
              expect(got.token).toBeGreaterThan(held);
              expect(got.progress).toBe(r?.state === 'in_progress' ? r.progress : undefined);
              lastToken.set(c.key, got.token);
              model.set(c.key, {
                state: 'in_progress',
                fp: c.fp,
                token: got.token,
                lease: now + LEASE,
                progress: r?.state === 'in_progress' ? r.progress : undefined,
                expires: now + LEASE + RET,
              });
            }
            if (got.status === 'completed' && r?.state === 'completed') {
              expect(got.outcome).toEqual({ type: 'value', value: r.outcome });
            }
            continue;
          }
          const token = c.stale ? Math.max(1, held - 1) : held;
          const current = r?.state === 'in_progress' && r.token === token && token > 0;
          const id = { scope: 's', key: c.key, token: token || 1 };
          if (c.op === 'complete') {
            const outcome: IdempotencyOutcome = { type: 'value', value: step };
            const ok = await store.complete({ ...id, outcome, retentionMs: RET });
            expect(ok).toBe(current);
            if (current && r) model.set(c.key, { state: 'completed', fp: r.fp, outcome: step, expires: now + RET });
          } else if (c.op === 'release') {
            const ok = await store.release(id);
            expect(ok).toBe(current);
            if (current && r?.state === 'in_progress') {
              if (r.progress === undefined) model.delete(c.key);
              else model.set(c.key, { ...r, lease: now, expires: now + RET });
            }
          } else {
            const ok = await store.checkpoint({ ...id, progress: step, leaseMs: LEASE });
            expect(ok).toBe(current);
            if (current && r?.state === 'in_progress') {
              model.set(c.key, { ...r, progress: step, lease: now + LEASE, expires: now + LEASE + RET });
            }
          }
        }
        for (const key of keys) {
          const r = live(key);
          const got = await store.get({ scope: 's', key });
          expect(got?.state).toBe(r?.state);
        }
      }),
      { numRuns: 150 },
    );
  });
});
