/**
 * The contract every {@link CacheStore} must pass, runnable under any test runner.
 */
import assert from 'node:assert/strict';
import type { JsonValue } from '../core/canonical.js';
import { type Clock, ManualClock } from '../core/clock.js';
import type { ContractTest } from '../core/contract.js';
import { isValidationError } from '../core/errors.js';
import type { CacheStore, CacheStoreEvent } from './store.js';

/** What {@link runCacheStoreContract} hands the factory for each test. */
export interface CacheStoreContractContext {
  /** A fresh clock at 0 for this test, moved by the suite; a store on injectable time should read it. */
  readonly clock: Clock;
}

/** Builds a fresh, empty store for one test of {@link runCacheStoreContract}. */
export type CacheStoreFactory = (
  context: CacheStoreContractContext,
) => CacheStore<JsonValue> | Promise<CacheStore<JsonValue>>;

/** Options of {@link runCacheStoreContract}. */
export interface CacheStoreContractOptions {
  /**
   * Moves the store's time forward by `ms`. Stores on real time (Redis) pass a real sleep here.
   * @defaultValue advances the context's clock (a manual one)
   */
  readonly advance?: (ms: number, context: CacheStoreContractContext) => Promise<void> | void;
  /** Prefix of every test name. @defaultValue 'CacheStore contract: ' */
  readonly prefix?: string;
  /** How long to wait for a subscription event to arrive, in ms of real time. @defaultValue 2_000 */
  readonly eventTimeoutMs?: number;
}

/** A few event-loop turns: no time passes, but queued callbacks and I/O run. */
async function turns(count = 20, until: () => boolean = () => false): Promise<void> {
  for (let turn = 0; turn < count && !until(); turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

async function eventually(predicate: () => boolean, timeoutMs: number): Promise<void> {
  // Synchronous and microtask delivery passes without any real waiting; only a networked store sleeps.
  await turns(20, predicate);
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

async function rejectsWithValidation(promise: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(
    promise,
    (error: unknown) => isValidationError(error),
    `${what} must reject with a ValidationError`,
  );
}

/**
 * Registers the tests every {@link CacheStore} must pass: misses, round trips of every JSON value (falsy
 * ones included), replacement, expiry and remaining TTL, deletes, exact keys, atomic concurrent writes,
 * validation without side effects, and (when the store has `subscribe`) its change events. Assertions use
 * `node:assert/strict`, so any runner works.
 *
 * @param test - The runner's test registration (`it` from vitest, `test` from `node:test`, …).
 * @param factory - Builds a fresh, empty store for each test.
 * @param options - Time control for stores on real time, names, timeouts.
 * @example
 * ```ts
 * import { it } from 'vitest';
 * import { MemoryCacheStore, runCacheStoreContract } from 'system-design-blocks/cache';
 *
 * runCacheStoreContract(it, ({ clock }) => new MemoryCacheStore({ clock }));
 * ```
 */
export function runCacheStoreContract(
  test: ContractTest,
  factory: CacheStoreFactory,
  options: CacheStoreContractOptions = {},
): void {
  const prefix = options.prefix ?? 'CacheStore contract: ';
  const eventTimeoutMs = options.eventTimeoutMs ?? 2_000;
  const setup = async (): Promise<{
    store: CacheStore<JsonValue>;
    advance: (ms: number) => Promise<void>;
  }> => {
    const clock = new ManualClock();
    const context: CacheStoreContractContext = { clock };
    const store = await factory(context);
    const advance = async (ms: number): Promise<void> => {
      if (options.advance === undefined) await clock.advanceAsync(ms);
      else await options.advance(ms, context);
    };
    return { store, advance };
  };

  test(`${prefix}get of a key never written is undefined`, async () => {
    const { store } = await setup();
    assert.equal(await store.get('never-written'), undefined);
  });

  test(`${prefix}set then get returns an equal value and a remaining ttl within (0, ttl]`, async () => {
    const { store } = await setup();
    const value: JsonValue = { sku: 'SKU-1', price: 1999, tags: ['a', 'b'], stock: { warehouse: 3, shop: null } };
    await store.set('product:1', value, { ttl: 60_000 });
    const hit = await store.get('product:1');
    assert.ok(hit !== undefined, 'a value just written is found');
    assert.deepEqual(hit.value, value);
    assert.ok(hit.ttl > 0 && hit.ttl <= 60_000, `remaining ttl ${hit.ttl} must be in (0, 60000]`);
  });

  test(`${prefix}falsy JSON values are values, not misses`, async () => {
    const { store } = await setup();
    const values: JsonValue[] = [0, '', false, null, [], {}];
    for (const [i, value] of values.entries()) await store.set(`falsy:${i}`, value, { ttl: 10_000 });
    for (const [i, value] of values.entries()) {
      const hit = await store.get(`falsy:${i}`);
      assert.ok(hit !== undefined, `falsy value ${JSON.stringify(value)} must be found`);
      assert.deepEqual(hit.value, value);
    }
  });

  test(`${prefix}set replaces both the value and the ttl`, async () => {
    const { store, advance } = await setup();
    await store.set('k', 'first', { ttl: 1_000 });
    await advance(800);
    await store.set('k', 'second', { ttl: 1_000 });
    await advance(800);
    const hit = await store.get('k');
    assert.ok(hit !== undefined, 'the second write restarted the ttl');
    assert.equal(hit.value, 'second');
    await advance(300);
    assert.equal(await store.get('k'), undefined, 'the second ttl ends too');
  });

  test(`${prefix}values expire after their ttl and report what is left before`, async () => {
    const { store, advance } = await setup();
    await store.set('short', 'v', { ttl: 1_000 });
    await store.set('long', 'w', { ttl: 5_000 });
    await advance(900);
    const hit = await store.get('short');
    assert.ok(hit !== undefined, 'still there before its ttl');
    assert.ok(hit.ttl > 0 && hit.ttl <= 100, `remaining ttl ${hit.ttl} must be in (0, 100] after 900 of 1000 ms`);
    await advance(200);
    assert.equal(await store.get('short'), undefined, 'gone after its ttl');
    assert.equal((await store.get('long'))?.value, 'w', 'another key keeps its own ttl');
  });

  test(`${prefix}delete removes a value and says whether there was one`, async () => {
    const { store } = await setup();
    await store.set('k', 1, { ttl: 10_000 });
    assert.equal(await store.delete('k'), true);
    assert.equal(await store.get('k'), undefined);
    assert.equal(await store.delete('k'), false);
    assert.equal(await store.delete('never-written'), false);
  });

  test(`${prefix}keys are exact strings`, async () => {
    const { store } = await setup();
    const keys = ['sku:1', 'SKU:1', 'sku:1 ', 'sku:é', 'sku:e\u0301', 'a:b:c'];
    for (const [i, key] of keys.entries()) await store.set(key, i, { ttl: 10_000 });
    for (const [i, key] of keys.entries()) assert.equal((await store.get(key))?.value, i, `key ${JSON.stringify(key)}`);
  });

  test(`${prefix}concurrent writes to distinct keys all land`, async () => {
    const { store } = await setup();
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.set(`c:${i}`, { i }, { ttl: 10_000 })));
    const hits = await Promise.all(Array.from({ length: 100 }, (_, i) => store.get(`c:${i}`)));
    for (const [i, hit] of hits.entries()) assert.deepEqual(hit?.value, { i }, `key c:${i}`);
  });

  test(`${prefix}concurrent writes to one key leave exactly one of them, whole`, async () => {
    const { store } = await setup();
    const written = Array.from({ length: 20 }, (_, i) => ({ writer: i, payload: Array.from({ length: 5 }, () => i) }));
    await Promise.all(written.map((value) => store.set('contended', value, { ttl: 10_000 })));
    const hit = await store.get('contended');
    assert.ok(hit !== undefined);
    assert.ok(
      written.some((value) => JSON.stringify(value) === JSON.stringify(hit.value)),
      'the final value is one of the writes, not a mix',
    );
  });

  test(`${prefix}bad input is rejected with a ValidationError and changes nothing`, async () => {
    const { store } = await setup();
    await store.set('k', 'kept', { ttl: 10_000 });
    await rejectsWithValidation(
      store.set('k', undefined as unknown as JsonValue, { ttl: 1_000 }),
      'an undefined value',
    );
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await rejectsWithValidation(store.set('k', 'changed', { ttl }), `ttl ${ttl}`);
    }
    assert.equal((await store.get('k'))?.value, 'kept');
  });

  test(`${prefix}subscribers see every set and delete with its origin, until they dispose`, async () => {
    const { store } = await setup();
    if (store.subscribe === undefined) return; // the subscription is optional
    const events: CacheStoreEvent[] = [];
    const subscription = store.subscribe((event) => events.push(event));
    await store.set('k', 1, { ttl: 10_000, origin: 'web-1' });
    await store.delete('k', { origin: 'web-2' });
    await store.delete('absent');
    await eventually(() => events.length >= 3, eventTimeoutMs);
    assert.deepEqual(
      events.map((e) => [e.type, e.key, e.origin]),
      [
        ['set', 'k', 'web-1'],
        ['delete', 'k', 'web-2'],
        ['delete', 'absent', undefined],
      ],
    );
    subscription.dispose();
    await store.set('k', 2, { ttl: 10_000 });
    await turns();
    assert.equal(events.length, 3, 'no event after dispose');
  });
}
