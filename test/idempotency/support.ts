/** Helpers shared by the idempotency tests: a clock driver, a seeded RNG and a fault-injecting store. */
import { flushMicrotasks, type ManualClock, seededRandom } from '../../src/core/index.js';
import type { IdempotencyStore } from '../../src/idempotency/index.js';

/** A small seeded PRNG: reproducible fault injection. */
export const seeded = seededRandom;

/**
 * Runs the clock until `promise` settles: lets pending callbacks run, then wakes the next sleeper. Throws if
 * nothing can make progress (a hang the test should see, not wait out).
 */
export async function drive<T>(clock: ManualClock, promise: Promise<T>, maxSteps = 1_000_000): Promise<T> {
  let done = false;
  const watched = promise.then(
    (v) => {
      done = true;
      return v;
    },
    (e: unknown) => {
      done = true;
      throw e;
    },
  );
  watched.catch(() => {});
  for (let step = 0; !done; step++) {
    if (step > maxSteps) throw new Error('drive: too many steps');
    await flushMicrotasks();
    if (done) break;
    if (clock.pending > 0) await clock.runNext();
    else {
      await flushMicrotasks();
      if (!done && clock.pending === 0) throw new Error('drive: stuck, nothing pending on the clock');
    }
  }
  return watched;
}

/** Settles a promise into a value-or-error record, for assertions. */
export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error: unknown) {
    return { ok: false, error };
  }
}

/** Error a {@link FaultyStore} throws when told to fail. */
export class InjectedStoreError extends Error {
  constructor(operation: string) {
    super(`injected store failure on ${operation}`);
    this.name = 'InjectedStoreError';
  }
}

type Method = 'begin' | 'checkpoint' | 'complete' | 'release' | 'get' | 'listUnfinished';

/** Wraps a store: each call may be failed (before reaching the store) by `shouldFail`. */
export class FaultyStore implements IdempotencyStore {
  readonly calls: Record<Method, number> = {
    begin: 0,
    checkpoint: 0,
    complete: 0,
    release: 0,
    get: 0,
    listUnfinished: 0,
  };

  constructor(
    readonly inner: IdempotencyStore,
    public shouldFail: (operation: Method, input: unknown) => boolean = () => false,
  ) {}

  async #call<R>(operation: Method, input: unknown, run: () => Promise<R>): Promise<R> {
    this.calls[operation]++;
    if (this.shouldFail(operation, input)) throw new InjectedStoreError(operation);
    return run();
  }

  begin: IdempotencyStore['begin'] = (input) => this.#call('begin', input, () => this.inner.begin(input));
  checkpoint: IdempotencyStore['checkpoint'] = (input) =>
    this.#call('checkpoint', input, () => this.inner.checkpoint(input));
  complete: IdempotencyStore['complete'] = (input) => this.#call('complete', input, () => this.inner.complete(input));
  release: IdempotencyStore['release'] = (input) => this.#call('release', input, () => this.inner.release(input));
  get: IdempotencyStore['get'] = (input) => this.#call('get', input, () => this.inner.get(input));
  listUnfinished: IdempotencyStore['listUnfinished'] = (input) =>
    this.#call('listUnfinished', input, () => this.inner.listUnfinished(input));
}
