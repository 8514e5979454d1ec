/**
 * A bulkhead on p-queue: at most `concurrency` calls run at once, at most `maxQueue` wait, and the rest are
 * shed at once with {@link BulkheadRejectedError}.
 */
import PQueue from 'p-queue';
import { Emitter } from '../core/index.js';
import { assertNonNegativeInteger, assertObject, assertPositiveInteger, invalid } from '../core/validation.js';
import { BulkheadRejectedError } from './errors.js';
import {
  type Callee,
  callNext,
  RUN,
  type Runner,
  raceToken,
  rejectIfNotFunction,
  type Token,
  tokenFromSignal,
  wrapWith,
} from './internal.js';
import type { PolicyFn, ResiliencePolicy } from './policy.js';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions {
  /** Calls running at once (≥ 1). */
  readonly concurrency: number;
  /** Calls allowed to wait for a slot (≥ 0); the next one is rejected at once. @defaultValue 0 */
  readonly maxQueue?: number;
}

/** Payload of {@link Bulkhead.onReject}. */
export interface BulkheadRejectEvent {
  /** Calls running when the call was shed. */
  readonly active: number;
  /** Calls waiting when the call was shed. */
  readonly queued: number;
}

/**
 * Isolates a dependency's concurrency so a slow dependency cannot take every connection or worker: calls
 * beyond `concurrency` wait in a FIFO queue of at most `maxQueue`, and calls beyond that are rejected at
 * once (load shedding) with {@link BulkheadRejectedError}, which breakers do not count as failures.
 *
 * A slot is held until the call really settles: a caller that aborts, or a timeout outside the bulkhead,
 * gets its rejection at once, but the slot frees only when the abandoned work ends. A queued call whose
 * caller aborts leaves the queue. Build one with {@link bulkhead}.
 */
export class Bulkhead implements ResiliencePolicy {
  /** Calls running at once. */
  readonly concurrency: number;
  /** Calls allowed to wait. */
  readonly maxQueue: number;
  readonly #queue: PQueue;
  readonly #rejected = new Emitter<BulkheadRejectEvent>();

  /** Subscribes to calls shed because the bulkhead was full. */
  readonly onReject = this.#rejected.subscribe;

  /**
   * @param options - Concurrency and queue bound.
   * @throws `ValidationError` naming the option at fault.
   */
  constructor(options: BulkheadOptions) {
    assertObject(options, 'options');
    if (Array.isArray(options)) invalid('options', 'an options object', options);
    assertPositiveInteger(options.concurrency, 'options.concurrency');
    const maxQueue = options.maxQueue ?? 0;
    assertNonNegativeInteger(maxQueue, 'options.maxQueue');
    this.concurrency = options.concurrency;
    this.maxQueue = maxQueue;
    this.#queue = new PQueue({ concurrency: this.concurrency });
  }

  static {
    const run: Runner = function (this: Bulkhead, fn, token) {
      return this.#run(fn, token);
    };
    Object.defineProperty(Bulkhead.prototype, RUN, { value: run });
  }

  /** Calls running now (their slots are held until they settle). */
  get active(): number {
    return this.#queue.pending;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Resolves when no call is running or waiting. */
  onIdle(): Promise<void> {
    return this.#queue.onIdle();
  }

  /**
   * Runs `fn` when a slot is free; rejects at once with {@link BulkheadRejectedError} when every slot is
   * busy and the queue is full.
   *
   * @param fn - The guarded call.
   * @param signal - Cancels the call: leaves the queue if still waiting; if running, rejects at once while
   *   the slot stays held until `fn` settles.
   * @throws {@link BulkheadRejectedError} when full; the signal's reason when aborted.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    const bad = rejectIfNotFunction(fn);
    if (bad !== undefined) return bad;
    let token: Token | undefined;
    try {
      token = tokenFromSignal(signal);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    return this.#run(fn, token);
  }

  /** Wraps `fn`: the returned function runs it under this policy. */
  wrap<A extends readonly unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T> {
    return wrapWith(this, fn);
  }

  #run<T>(fn: Callee<T>, token: Token | undefined): Promise<T> {
    if (token?.aborted) return Promise.reject(token.reason);
    const queue = this.#queue;
    const busy = queue.pending >= this.concurrency;
    if (busy && queue.size >= this.maxQueue) {
      const error = new BulkheadRejectedError({ concurrency: this.concurrency, maxQueue: this.maxQueue });
      this.#rejected.emit({ active: queue.pending, queued: queue.size });
      return Promise.reject(error);
    }
    if (token === undefined) return queue.add(() => callNext(fn, undefined, 1));
    if (!busy && queue.size === 0) {
      // p-queue starts the task synchronously: no queue phase to cancel.
      return raceToken(
        queue.add(() => callNext(fn, token, 1)),
        token,
      );
    }
    // Queued: p-queue drops the task if this signal aborts before it starts. Once running, the signal is
    // left alone so that p-queue keeps the slot until the call settles.
    const queued = new AbortController();
    let started = false;
    const unsubscribe = token.subscribe((reason) => {
      if (!started) queued.abort(reason);
    });
    const task = queue.add(
      () => {
        started = true;
        unsubscribe();
        return callNext(fn, token, 1);
      },
      { signal: queued.signal },
    );
    return raceToken(task, token).finally(unsubscribe);
  }
}

/**
 * A bulkhead: at most `concurrency` calls at once, at most `maxQueue` waiting, the rest shed at once.
 *
 * @param options - Concurrency and queue bound.
 * @throws `ValidationError` naming the option at fault.
 * @example
 * ```ts
 * import { bulkhead, isBulkheadRejectedError } from 'system-design-blocks/resilience';
 *
 * const tracking = bulkhead({ concurrency: 8, maxQueue: 16 });
 * try {
 *   const location = await tracking.execute(async () => ({ lat: 37.5, lng: 127.0 }));
 *   console.log(location.lat);
 * } catch (error: unknown) {
 *   if (isBulkheadRejectedError(error)) console.log('busy: answer from cache instead');
 * }
 * ```
 */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  return new Bulkhead(options);
}
