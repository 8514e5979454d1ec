/**
 * Graceful degradation: answer with a substitute (a cached value, a "pending" status) when the call fails.
 */
import { Emitter } from '../core/index.js';
import { assertFunction, optionsObject } from '../core/validation.js';
import { type Callee, callNext, executeWith, RUN, type Runner, raceToken, type Token, wrapWith } from './internal.js';
import type { PolicyFn, ResiliencePolicy } from './policy.js';

/** Options of {@link fallback}. */
export interface FallbackOptions {
  /**
   * Which errors the fallback answers; others are thrown as they are. A call the caller aborted is never
   * answered by the fallback.
   * @defaultValue every error
   */
  readonly when?: (error: unknown) => boolean;
}

/** Payload of {@link FallbackPolicy.onFallback}. */
export interface FallbackEvent {
  /** The error the fallback answered. */
  readonly error: unknown;
}

/** Computes a fallback result from the error. */
export type FallbackHandler<F> = (error: unknown) => F | PromiseLike<F>;

/**
 * Resolves with a substitute when the call fails: a fixed value, or the result of a handler that receives
 * the error. Put it outermost in a pipeline so it also answers open circuits, exhausted retries and shed
 * load. Build one with {@link fallback}.
 *
 * @typeParam F - Type of the substitute.
 */
export class FallbackPolicy<F> implements ResiliencePolicy<F> {
  /** Type-level marker of the fallback type; never set at runtime. */
  declare readonly '~fallback'?: () => F;
  readonly #handler: FallbackHandler<F>;
  readonly #when: ((error: unknown) => boolean) | undefined;
  readonly #fallbacks = new Emitter<FallbackEvent>();

  /** Subscribes to calls answered by the fallback. */
  readonly onFallback = this.#fallbacks.subscribe;

  /**
   * @param handler - Computes the substitute from the error.
   * @param options - Which errors to answer.
   * @throws `ValidationError` when `handler` or `options.when` is not a function.
   */
  constructor(handler: FallbackHandler<F>, options?: FallbackOptions) {
    assertFunction(handler, 'handler');
    const o = optionsObject(options, 'options');
    if (o.when !== undefined) assertFunction(o.when, 'options.when');
    this.#handler = handler;
    this.#when = o.when;
  }

  static {
    const run: Runner = function (this: FallbackPolicy<unknown>, fn, token) {
      return this.#run(fn, token);
    };
    Object.defineProperty(FallbackPolicy.prototype, RUN, { value: run });
  }

  /**
   * Runs `fn`; when it fails (and `when` accepts the error), resolves with the substitute instead.
   *
   * @param fn - The guarded call.
   * @param signal - Cancels the call; a cancelled call rejects with the signal's reason, no substitute.
   * @throws The call's error when `when` rejects it, or the handler's own error.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | F> {
    return executeWith<T | F>(this, fn, signal);
  }

  /** Wraps `fn`: the returned function runs it under this policy. */
  wrap<A extends readonly unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T | F> {
    return wrapWith(this, fn);
  }

  #run<T>(fn: Callee<T>, token: Token | undefined): Promise<T | F> {
    return raceToken(callNext(fn, token, 1), token).then(undefined, (error: unknown) => {
      if (token?.aborted === true) throw error;
      if (this.#when !== undefined && !this.#when(error)) throw error;
      if (this.#fallbacks.size > 0) this.#fallbacks.emit({ error });
      return this.#handler(error);
    });
  }
}

/**
 * A fallback policy that answers failures with what `handler(error)` returns. A function argument is
 * always taken as a handler (wrap a function value in one to return it).
 *
 * @param handler - Computes the substitute from the error.
 * @param options - Which errors to answer.
 * @throws `ValidationError` when `options.when` is not a function.
 * @example
 * ```ts
 * import { fallback } from 'system-design-blocks/resilience';
 *
 * const lastKnown = new Map([['PKG-1', 'Incheon hub']]);
 * const degrade = fallback(() => ({ location: lastKnown.get('PKG-1') ?? 'unknown', stale: true }));
 * const answer = await degrade.execute(async () => {
 *   throw new Error('tracking service down');
 * });
 * console.log(answer); // { location: 'Incheon hub', stale: true }
 * ```
 */
export function fallback<F>(handler: FallbackHandler<F>, options?: FallbackOptions): FallbackPolicy<F>;
/**
 * A fallback policy that answers failures with a fixed `value` (its literal type is kept).
 *
 * @param value - The substitute; not a function.
 * @param options - Which errors to answer.
 * @throws `ValidationError` when `options.when` is not a function.
 * @example
 * ```ts
 * import { fallback } from 'system-design-blocks/resilience';
 *
 * const parked = fallback({ status: 'pending' });
 * const result = await parked.execute(async () => ({ status: 'charged' }) as const);
 * console.log(result.status); // 'charged' | 'pending'
 * ```
 */
export function fallback<const F>(value: F, options?: FallbackOptions): FallbackPolicy<F>;
export function fallback<F>(valueOrHandler: F | FallbackHandler<F>, options?: FallbackOptions): FallbackPolicy<F> {
  const handler: FallbackHandler<F> =
    typeof valueOrHandler === 'function' ? (valueOrHandler as FallbackHandler<F>) : () => valueOrHandler;
  return new FallbackPolicy(handler, options);
}
