/**
 * A bulkhead on p-queue: at most `concurrency` calls run at once, at most `maxQueue` wait, and the rest are
 * shed at once with {@link BulkheadRejectedError}.
 */
import PQueue from 'p-queue';
import { Emitter } from '../core/index.js';
import { assertNonNegativeInteger, assertObject, assertPositiveInteger, invalid } from '../core/validation.js';
import { BulkheadRejectedError } from './errors.js';
import { type Callee, callNext, executeWith, RUN, type Runner, raceToken, type Token, wrapWith } from './internal.js';
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
 *
 * A call that finds a free slot and nobody waiting starts at once, without going through p-queue; p-queue
 * holds the waiting line and starts waiters, in order, in the slots such calls leave free.
 */
export class Bulkhead implements ResiliencePolicy {
  /** Calls running at once. */
  readonly concurrency: number;
  /** Calls allowed to wait. */
  readonly maxQueue: number;
  /**
   * The waiting line. It only ever runs calls that had to wait: its concurrency is kept at the slots the
   * fast path leaves free whenever someone waits, and it is paused while the fast path holds them all.
   */
  readonly #queue: PQueue;
  /** Calls that found a free slot and nobody waiting, running without p-queue. */
  #direct = 0;
  /** Resolvers of {@link Bulkhead.onIdle} waiting for the direct calls to end. */
  #directIdle: (() => void)[] = [];
  readonly #rejected = new Emitter<BulkheadRejectEvent>();
  readonly #releaseValue = <T>(value: T): T => {
    this.#release();
    return value;
  };
  readonly #releaseError = (error: unknown): never => {
    this.#release();
    throw error;
  };

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
    return this.#direct + this.#queue.pending;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Resolves when no call is running or waiting. */
  async onIdle(): Promise<void> {
    for (;;) {
      if (this.#direct > 0) {
        await new Promise<void>((resolve) => {
          this.#directIdle.push(resolve);
        });
      } else if (this.#queue.pending > 0 || this.#queue.size > 0) {
        await this.#queue.onIdle();
      } else {
        return;
      }
    }
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
    return executeWith<T>(this, fn, signal);
  }

  /** Wraps `fn`: the returned function runs it under this policy. */
  wrap<A extends readonly unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T> {
    return wrapWith(this, fn);
  }

  #run<T>(fn: Callee<T>, token: Token | undefined): Promise<T> {
    if (token?.aborted) return Promise.reject(token.reason);
    const queue = this.#queue;
    const waiting = queue.size;
    const running = this.#direct + queue.pending;
    if (waiting === 0 && running < this.concurrency) {
      // A free slot and nobody ahead: take it without p-queue's bookkeeping (ids, task records, events).
      // The slot is given back when the call itself settles, whatever the caller's signal does.
      this.#direct++;
      const settled = callNext(fn, token, 1).then(this.#releaseValue, this.#releaseError) as Promise<T>;
      return token === undefined ? settled : raceToken(settled, token);
    }
    if (running >= this.concurrency && waiting >= this.maxQueue) {
      const error = new BulkheadRejectedError({ concurrency: this.concurrency, maxQueue: this.maxQueue });
      this.#rejected.emit({ active: running, queued: waiting });
      return Promise.reject(error);
    }
    this.#limitQueue();
    if (token === undefined) return queue.add(() => callNext(fn, undefined, 1));
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

  /** A direct call settled: give its slot to the first waiter, if any. */
  #release(): void {
    this.#direct--;
    if (this.#queue.size > 0) this.#limitQueue();
    if (this.#direct === 0 && this.#directIdle.length > 0) {
      const waiters = this.#directIdle;
      this.#directIdle = [];
      for (const resolve of waiters) resolve();
    }
  }

  /**
   * Lets p-queue start waiters only in the slots the direct calls leave free. Needed only while someone
   * waits: no direct call starts then (they would overtake the line), so the limit only grows until the
   * line is empty, and each direct call that ends raises it by one, which starts the next waiter.
   */
  #limitQueue(): void {
    const queue = this.#queue;
    const free = this.concurrency - this.#direct;
    if (free === 0) {
      queue.pause();
      return;
    }
    if (queue.concurrency !== free) queue.concurrency = free;
    if (queue.isPaused) queue.start();
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
