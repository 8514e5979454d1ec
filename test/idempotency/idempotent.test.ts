import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isAbortedError,
  isSystemDesignError,
  isValidationError,
  ManualClock,
  SystemDesignError,
} from '../../src/core/index.js';
import {
  type IdempotencyContext,
  type IdempotencyEvent,
  type IdempotentOptions,
  idempotent,
  isIdempotencyInProgressError,
  isIdempotencyKeyReusedError,
  isIdempotencyLeaseLostError,
  isIdempotencyStoreError,
  isIdempotencyUnserializableError,
  isReplayedError,
  MemoryIdempotencyStore,
  redactCardNumbers,
  requestFingerprint,
} from '../../src/idempotency/index.js';
import { drive, FaultyStore, settle } from './support.js';

interface Req {
  readonly customerId: string;
  readonly key?: string;
  readonly body: Record<string, unknown>;
}

class DeclinedError extends SystemDesignError {
  static readonly code = 'E_TEST_DECLINED';
  readonly reason: string;
  constructor(reason: string) {
    super(DeclinedError.code, `declined: ${reason}`);
    this.reason = reason;
  }
}

function setup<Res = { n: number; body: Record<string, unknown> }>(
  overrides: Partial<IdempotentOptions<Req, Res>> = {},
  handler?: (req: Req, ctx: IdempotencyContext) => Res | Promise<Res>,
) {
  const clock = new ManualClock();
  const store = new MemoryIdempotencyStore({ clock });
  let runs = 0;
  const contexts: IdempotencyContext[] = [];
  const fn = idempotent<Req, Res>(
    async (req, ctx) => {
      runs++;
      contexts.push(ctx);
      if (handler) return handler(req, ctx);
      return { n: runs, body: req.body } as Res;
    },
    { store, key: (r) => r.key, scope: (r) => r.customerId, clock, ...overrides },
  );
  const events: IdempotencyEvent[] = [];
  fn.onEvent((e) => events.push(e));
  return { clock, store, fn, events, contexts, runs: () => runs };
}

const req = (key: string | undefined, body: Record<string, unknown> = { amount: 10 }, customerId = 'c1'): Req =>
  key === undefined ? { customerId, body } : { customerId, key, body };

describe('idempotent()', () => {
  it('runs once and replays the saved outcome, saying so', async () => {
    const { fn, runs } = setup();
    const first = await fn(req('k1'));
    const second = await fn(req('k1'));
    expect(first).toEqual({ value: { n: 1, body: { amount: 10 } }, replayed: false, scope: 'c1', key: 'k1' });
    expect(second).toEqual({ ...first, replayed: true });
    expect(runs()).toBe(1);
  });

  it('gives every replay its own mutable copy', async () => {
    const { fn } = setup();
    await fn(req('k1'));
    const a = await fn(req('k1'));
    (a.value.body as { amount: number }).amount = 999;
    const b = await fn(req('k1'));
    expect(b.value.body).toEqual({ amount: 10 });
  });

  it('isolates scopes: one customer can never replay another customer’s response', async () => {
    const { fn, runs } = setup();
    const a = await fn(req('shared-key', { amount: 1 }, 'alice'));
    const b = await fn(req('shared-key', { amount: 2 }, 'bob'));
    expect(b.replayed).toBe(false);
    expect(b.value.body).toEqual({ amount: 2 });
    expect(runs()).toBe(2);
    expect((await fn(req('shared-key', { amount: 1 }, 'alice'))).value).toEqual(a.value);
  });

  it('fingerprints canonically: key order does not matter, a changed payload is refused (422)', async () => {
    const { fn, runs, events } = setup();
    await fn(req('k1', { a: 1, b: { x: 1, y: [1, 2] } }));
    const reordered = await fn(req('k1', { b: { y: [1, 2], x: 1 }, a: 1 }));
    expect(reordered.replayed).toBe(true);
    const changed = await settle(fn(req('k1', { a: 2, b: { x: 1, y: [1, 2] } })));
    expect(changed.ok).toBe(false);
    if (!changed.ok) {
      expect(isIdempotencyKeyReusedError(changed.error)).toBe(true);
      if (isIdempotencyKeyReusedError(changed.error)) expect(changed.error.httpStatus).toBe(422);
    }
    expect(runs()).toBe(1);
    expect(events.some((e) => e.type === 'rejected' && e.reason === 'mismatch')).toBe(true);
  });

  it('requestFingerprint is invariant under key order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(requestFingerprint(reversed)).toBe(requestFingerprint(obj));
      }),
      { numRuns: 100 },
    );
    expect(requestFingerprint({ a: 1 })).not.toBe(requestFingerprint({ a: 2 }));
    expect(requestFingerprint({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a missing or malformed key is a ValidationError (400) and touches nothing', async () => {
    const { fn, store, runs } = setup();
    for (const key of [undefined, '', 'x'.repeat(256), 'bad\nkey', 'ключ', 42 as unknown as string]) {
      const r = await settle(fn({ customerId: 'c1', key, body: {} } as Req));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(isValidationError(r.error)).toBe(true);
        if (isValidationError(r.error)) expect(r.error.argument).toBe('idempotencyKey');
      }
    }
    expect((await fn(req('x'.repeat(255)))).replayed).toBe(false);
    expect((await fn(req(' ~!printable ASCII~ '))).replayed).toBe(false);
    expect(runs()).toBe(2);
    expect(store.size).toBe(2);
  });

  it('an empty scope is a ValidationError', async () => {
    const { fn } = setup();
    const r = await settle(fn(req('k', {}, '')));
    expect(!r.ok && isValidationError(r.error) && r.error.argument).toBe('scope');
  });

  it('a duplicate while the first runs gets IdempotencyInProgressError (409) with a retry hint', async () => {
    const { fn, clock, runs } = setup({ lease: 5_000 }, async (r, ctx) => {
      await clock.sleep(1_000);
      return { n: ctx.attempt, body: r.body };
    });
    const first = fn(req('k1'));
    await Promise.resolve();
    const dup = await settle(fn(req('k1')));
    expect(dup.ok).toBe(false);
    if (!dup.ok) {
      expect(isIdempotencyInProgressError(dup.error)).toBe(true);
      if (isIdempotencyInProgressError(dup.error)) {
        expect(dup.error.httpStatus).toBe(409);
        expect(dup.error.retryAfter).toBe(5_000);
        expect(dup.error.key).toBe('k1');
      }
    }
    await drive(clock, first);
    expect((await fn(req('k1'))).replayed).toBe(true);
    expect(runs()).toBe(1);
  });

  it("onInProgress 'wait': duplicates in the same process wait for the outcome", async () => {
    const { fn, clock, runs } = setup({ onInProgress: 'wait' }, async (r) => {
      await clock.sleep(500);
      return { n: 7, body: r.body };
    });
    const all = Promise.all(Array.from({ length: 20 }, () => fn(req('k1'))));
    const results = await drive(clock, all);
    expect(runs()).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    for (const r of results) expect(r.value).toEqual({ n: 7, body: { amount: 10 } });
    expect(clock.pending).toBe(0);
  });

  it("onInProgress 'wait': polls the store when the holder is another process", async () => {
    const clock = new ManualClock();
    const store = new MemoryIdempotencyStore({ clock });
    let runs = 0;
    const make = () =>
      idempotent<Req, number>(
        async () => {
          runs++;
          await clock.sleep(300);
          return 42;
        },
        {
          store,
          key: (r) => r.key,
          scope: (r) => r.customerId,
          clock,
          onInProgress: 'wait',
          waitBackoff: { initial: 50, jitter: 'none' },
        },
      );
    const a = make();
    const b = make();
    const pa = a(req('k'));
    await Promise.resolve();
    const pb = b(req('k'));
    const [ra, rb] = await drive(clock, Promise.all([pa, pb]));
    expect(ra).toMatchObject({ value: 42, replayed: false });
    expect(rb).toMatchObject({ value: 42, replayed: true });
    expect(runs).toBe(1);
  });

  it("onInProgress 'wait' is bounded by waitTimeout", async () => {
    const { fn, clock } = setup({ onInProgress: 'wait', waitTimeout: 200, lease: 10_000 }, async (r) => {
      await clock.sleep(1_000);
      return { n: 1, body: r.body };
    });
    const first = fn(req('k1'));
    const dup = settle(fn(req('k1')));
    await clock.advanceAsync(200);
    const r = await dup;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(isIdempotencyInProgressError(r.error)).toBe(true);
    await drive(clock, first);
  });

  it("onInProgress 'wait': each waiter keeps its own deadline though they share one timer", async () => {
    const { fn, clock } = setup({ onInProgress: 'wait', waitTimeout: 200, lease: 10_000 }, async (r) => {
      await clock.sleep(250);
      return { n: 1, body: r.body };
    });
    const first = fn(req('k1'));
    const early = settle(fn(req('k1'))); // waits from t=0 until t=200
    await clock.advanceAsync(100);
    const late = settle(fn(req('k1'))); // waits from t=100 until t=300
    await clock.advanceAsync(100);
    const e = await early;
    expect(!e.ok && isIdempotencyInProgressError(e.error)).toBe(true);
    await clock.advanceAsync(50); // the run finishes at t=250
    await first;
    const l = await late;
    expect(l.ok && l.value.replayed).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it("onInProgress 'wait' is abortable and leaves no timer behind", async () => {
    const { fn, clock } = setup({ onInProgress: 'wait' }, async (r) => {
      await clock.sleep(1_000);
      return { n: 1, body: r.body };
    });
    const first = fn(req('k1'));
    const controller = new AbortController();
    const dup = settle(fn(req('k1'), { signal: controller.signal }));
    await clock.advanceAsync(10);
    controller.abort();
    const r = await dup;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(isAbortedError(r.error)).toBe(true);
    expect(clock.pending).toBe(1); // only the handler's own sleep
    await drive(clock, first);
    const pre = new AbortController();
    pre.abort(new Error('gone'));
    await expect(fn(req('k2'), { signal: pre.signal })).rejects.toThrow('gone');
  });

  it('terminal errors are saved and replayed; the replay keeps code, name, message and context', async () => {
    const { fn, runs, events } = setup({ isTerminalError: (e) => e instanceof DeclinedError }, () => {
      throw new DeclinedError('insufficient_funds');
    });
    const first = await settle(fn(req('k1')));
    const second = await settle(fn(req('k1')));
    expect(runs()).toBe(1);
    if (first.ok || second.ok) throw new Error('expected errors');
    expect(first.error).toBeInstanceOf(DeclinedError);
    expect(isReplayedError(first.error)).toBe(false);
    expect(isReplayedError(second.error)).toBe(true);
    expect(isSystemDesignError(second.error)).toBe(true);
    const replayed = second.error as DeclinedError;
    expect(replayed.code).toBe('E_TEST_DECLINED');
    expect(replayed.name).toBe('DeclinedError');
    expect(replayed.message).toBe('declined: insufficient_funds');
    expect(replayed.reason).toBe('insufficient_funds');
    expect(events.filter((e) => e.type === 'completed')).toEqual([
      { type: 'completed', scope: 'c1', key: 'k1', outcome: 'error' },
    ]);
  });

  it('non-Error terminal throws are replayed as errors with the same message', async () => {
    const { fn } = setup({ isTerminalError: () => true }, () => {
      throw 'plain string';
    });
    await expect(fn(req('k1'))).rejects.toBe('plain string');
    const replay = await settle(fn(req('k1')));
    expect(replay.ok).toBe(false);
    if (!replay.ok) expect((replay.error as Error).message).toBe('plain string');
  });

  it('other errors release the key so the client’s retry runs again', async () => {
    let fail = true;
    const { fn, runs, events } = setup({}, (r) => {
      if (fail) throw new Error('gateway hiccup');
      return { n: 2, body: r.body };
    });
    await expect(fn(req('k1'))).rejects.toThrow('gateway hiccup');
    fail = false;
    const retry = await fn(req('k1'));
    expect(retry.replayed).toBe(false);
    expect(runs()).toBe(2);
    expect(events.map((e) => e.type)).toEqual(['acquired', 'released', 'acquired', 'completed']);
  });

  it('a released run keeps its recovery point for the next attempt', async () => {
    const seen: unknown[] = [];
    const { fn } = setup({}, async (r, ctx) => {
      seen.push([ctx.attempt, ctx.progress]);
      if (ctx.progress === undefined) {
        await ctx.checkpoint({ step: 'requested' });
        throw new Error('lost response');
      }
      return { n: 1, body: r.body };
    });
    await expect(fn(req('k1'))).rejects.toThrow('lost response');
    await fn(req('k1'));
    expect(seen).toEqual([
      [1, undefined],
      [2, { step: 'requested' }],
    ]);
  });

  it('an expired lease is taken over; the stale holder is fenced and writes nothing', async () => {
    const { fn, clock, store, contexts } = setup({ lease: 1_000 }, async (r, ctx) => {
      if (ctx.attempt === 1) {
        await ctx.checkpoint({ step: 1 });
        await clock.sleep(5_000); // stalls past its lease
        await ctx.checkpoint({ step: 2 }); // fenced
        return { n: 1, body: r.body };
      }
      return { n: ctx.attempt, body: r.body };
    });
    const stale = settle(fn(req('k1')));
    await clock.advanceAsync(1_001);
    const fresh = await fn(req('k1'));
    expect(fresh).toMatchObject({ value: { n: 2 }, replayed: false });
    expect(contexts[1]?.progress).toEqual({ step: 1 });
    expect(contexts[1]?.token).toBeGreaterThan(contexts[0]?.token ?? Number.POSITIVE_INFINITY);
    const staleResult = await drive(clock, stale);
    expect(staleResult.ok).toBe(false);
    if (!staleResult.ok) expect(isIdempotencyInProgressError(staleResult.error)).toBe(true);
    const record = await store.get({ scope: 'c1', key: 'k1' });
    expect(record?.state === 'completed' && record.outcome).toEqual({
      type: 'value',
      value: { n: 2, body: { amount: 10 } },
    });
  });

  it('a stale holder that finishes after a takeover completes nothing', async () => {
    let calls = 0;
    const { fn, clock, store } = setup({ lease: 1_000 }, async (r) => {
      const mine = ++calls;
      await clock.sleep(mine === 1 ? 3_000 : 10);
      return { n: mine, body: r.body };
    });
    const stale = settle(fn(req('k1')));
    await clock.advanceAsync(1_500);
    const fresh = drive(clock, fn(req('k1')));
    expect((await fresh).value.n).toBe(2);
    const s = await drive(clock, stale);
    expect(s.ok).toBe(false);
    const record = await store.get({ scope: 'c1', key: 'k1' });
    expect(record?.state === 'completed' && record.outcome).toMatchObject({ value: { n: 2 } });
    expect((await fn(req('k1'))).value.n).toBe(2);
  });

  it('a checkpoint after losing the lease throws IdempotencyLeaseLostError inside the handler', async () => {
    let caught: unknown;
    const { fn, clock } = setup({ lease: 100 }, async (r, ctx) => {
      if (ctx.attempt === 1) {
        await clock.sleep(500);
        try {
          await ctx.checkpoint('late');
        } catch (error: unknown) {
          caught = error;
          throw error;
        }
      }
      return { n: ctx.attempt, body: r.body };
    });
    const stale = settle(fn(req('k1')));
    await clock.advanceAsync(200);
    await fn(req('k1'));
    await drive(clock, stale);
    expect(isIdempotencyLeaseLostError(caught)).toBe(true);
  });

  it('outcomes expire after the retention; the key then runs afresh (defaults: 24 h, lease 30 s)', async () => {
    const { fn, clock, store, runs } = setup();
    await fn(req('k1'));
    const record = await store.get({ scope: 'c1', key: 'k1' });
    expect(record?.state === 'completed' && record.expiresAt - record.completedAt).toBe(86_400_000);
    const running = setup({}, async (r) => {
      await running.clock.sleep(10);
      return { n: 0, body: r.body };
    });
    const p = running.fn(req('x'));
    await Promise.resolve();
    const inProgress = await running.store.get({ scope: 'c1', key: 'x' });
    expect(inProgress?.state === 'in_progress' && inProgress.leaseExpiresAt).toBe(30_000);
    await drive(running.clock, p);
    clock.advance(86_400_000 - 1);
    expect((await fn(req('k1'))).replayed).toBe(true);
    clock.advance(1);
    expect((await fn(req('k1', { other: true }))).replayed).toBe(false);
    expect(runs()).toBe(2);
  });

  it('redact rewrites the saved outcome: replays get the redacted form, the first caller its own value', async () => {
    const { fn, store } = setup({ redact: redactCardNumbers }, (r) => ({
      n: 1,
      body: { ...r.body, echo: 'card 4242 4242 4242 4242' },
    }));
    const first = await fn(req('k1'));
    const replay = await fn(req('k1'));
    expect(first.value.body.echo).toBe('card 4242 4242 4242 4242');
    expect(replay.value.body.echo).toBe('card •••• 4242');
    expect(JSON.stringify(await store.get({ scope: 'c1', key: 'k1' }))).not.toContain('4242 4242');
  });

  it('serialize / deserialize keep values JSON cannot carry', async () => {
    const { fn } = setup<{ at: Date }>(
      {
        serialize: (v) => ({ at: v.at.toISOString() }),
        deserialize: (json) => ({ at: new Date((json as { at: string }).at) }),
      },
      () => ({ at: new Date(0) }),
    );
    await fn(req('k1'));
    const replay = await fn(req('k1'));
    expect(replay.value.at).toBeInstanceOf(Date);
    expect(replay.value.at.getTime()).toBe(0);
  });

  it('a handler returning undefined replays undefined', async () => {
    const { fn } = setup<undefined>({}, () => undefined);
    await fn(req('k1'));
    expect(await fn(req('k1'))).toMatchObject({ value: undefined, replayed: true });
  });

  it('an unserialisable result is reported and the key stays leased (the effect happened)', async () => {
    const { fn, runs } = setup<{ big: bigint }>({}, () => ({ big: 1n }));
    const first = await settle(fn(req('k1')));
    expect(first.ok).toBe(false);
    if (!first.ok) expect(isIdempotencyUnserializableError(first.error)).toBe(true);
    const dup = await settle(fn(req('k1')));
    expect(!dup.ok && isIdempotencyInProgressError(dup.error)).toBe(true);
    expect(runs()).toBe(1);
  });

  it('store failures: begin → IdempotencyStoreError (503) without running; complete is retried, then given up', async () => {
    const clock = new ManualClock();
    const failing = new Set<string>();
    const store = new FaultyStore(new MemoryIdempotencyStore({ clock }), (op) => failing.has(op));
    let runs = 0;
    const fn = idempotent<Req, number>(() => ++runs, { store, key: (r) => r.key, scope: (r) => r.customerId, clock });
    const events: IdempotencyEvent[] = [];
    fn.onEvent((e) => events.push(e));

    failing.add('begin');
    const r = await settle(fn(req('k1')));
    expect(!r.ok && isIdempotencyStoreError(r.error) && r.error.httpStatus === 503 && r.error.operation).toBe('begin');
    expect(runs).toBe(0);
    failing.clear();

    let completes = 0;
    store.shouldFail = (op) => op === 'complete' && ++completes < 3;
    expect((await fn(req('k2'))).value).toBe(1);
    expect((await fn(req('k2'))).replayed).toBe(true);

    store.shouldFail = (op) => op === 'complete';
    expect((await fn(req('k3'))).value).toBe(2); // the caller still learns the outcome
    expect(events.filter((e) => e.type === 'store_error' && e.key === 'k3')).toHaveLength(3);
    const dup = await settle(fn(req('k3')));
    expect(!dup.ok && isIdempotencyInProgressError(dup.error)).toBe(true); // leased until it expires

    store.shouldFail = (op) => op === 'release';
    const failingHandler = idempotent<Req, number>(
      () => {
        throw new Error('boom');
      },
      { store, key: (x) => x.key, scope: (x) => x.customerId, clock },
    );
    await expect(failingHandler(req('k4'))).rejects.toThrow('boom'); // the handler's error, not the store's
  });

  it('events can be disposed', async () => {
    const { fn } = setup();
    const seen: string[] = [];
    const handle = fn.onEvent((e) => seen.push(e.type));
    await fn(req('k1'));
    handle.dispose();
    await fn(req('k1'));
    expect(seen).toEqual(['acquired', 'completed']);
  });

  it('validates options up front, naming the option', () => {
    const store = new MemoryIdempotencyStore();
    const ok: IdempotentOptions<Req, number> = { store, key: (r) => r.key, scope: (r) => r.customerId };
    const bad: [Partial<IdempotentOptions<Req, number>>, string][] = [
      [{ store: {} as never }, 'options.store.begin'],
      [{ key: 'k' as never }, 'options.key'],
      [{ scope: undefined as never }, 'options.scope'],
      [{ retention: 0 }, 'options.retention'],
      [{ lease: -1 }, 'options.lease'],
      [{ onInProgress: 'queue' as never }, 'options.onInProgress'],
      [{ waitTimeout: Number.NaN }, 'options.waitTimeout'],
      [{ waitBackoff: { initial: 0 } }, 'options.waitBackoff.initial'],
      [{ redact: 1 as never }, 'options.redact'],
      [{ clock: {} as never }, 'options.clock.now'],
    ];
    for (const [patch, argument] of bad) {
      let error: unknown;
      try {
        idempotent(() => 1, { ...ok, ...patch });
      } catch (e: unknown) {
        error = e;
      }
      expect(isValidationError(error) && error.argument, argument).toBe(argument);
    }
    expect(() => idempotent(1 as never, ok)).toThrow(/handler/);
  });
});
