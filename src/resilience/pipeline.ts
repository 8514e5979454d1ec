/**
 * Composition: policies applied in the order written, the first one outermost.
 */
import { ValidationError } from '../core/index.js';
import {
  type Callee,
  Continuation,
  callNext,
  executeWith,
  type PipelineStepper,
  RUN,
  type Runner,
  runnerOf,
  type Token,
  tokenOf,
  wrapWith,
} from './internal.js';
import type { FallbackOf, PolicyFn, ResiliencePolicy } from './policy.js';

/**
 * Policies applied in order, the first outermost: `pipeline(a, b, c).execute(fn)` is
 * `a.execute(() => b.execute(() => c.execute(fn)))`. The signal flows inward (a timeout aborts everything
 * inside it), and `fn` sees `attempt` counting its own calls within one `execute`. Build one with
 * {@link pipeline}.
 *
 * @typeParam F - Union of the policies' fallback types.
 */
export class Pipeline<F> implements ResiliencePolicy<F> {
  /** Type-level marker of the fallback type; never set at runtime. */
  declare readonly '~fallback'?: () => F;
  /** The policies, outermost first. */
  readonly policies: readonly ResiliencePolicy<unknown>[];
  readonly #runners: readonly (Runner | undefined)[];

  /**
   * @param policies - Outermost first.
   * @throws `ValidationError` when an entry is not a policy.
   */
  constructor(policies: readonly ResiliencePolicy<unknown>[]) {
    if (!Array.isArray(policies)) {
      throw new ValidationError({ argument: 'policies', expected: 'an array of policies', received: policies });
    }
    policies.forEach((policy: unknown, i) => {
      if (
        typeof policy !== 'object' ||
        policy === null ||
        typeof (policy as { execute?: unknown }).execute !== 'function'
      ) {
        throw new ValidationError({
          argument: `policies[${i}]`,
          expected: 'a policy (an object with execute)',
          received: policy,
        });
      }
    });
    this.policies = Object.freeze([...policies]);
    this.#runners = this.policies.map(runnerOf);
  }

  static {
    const run: Runner = function (this: Pipeline<unknown>, fn, token) {
      return this.#run(fn, token);
    };
    Object.defineProperty(Pipeline.prototype, RUN, { value: run });
  }

  /**
   * Runs `fn` through every policy, outermost first.
   *
   * @param fn - The guarded call; `attempt` counts its calls within this execution.
   * @param signal - Cancels the whole execution.
   * @throws Whatever the policies throw: see each policy.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | F> {
    return executeWith<T | F>(this, fn, signal);
  }

  /** Wraps `fn`: the returned function runs it through the pipeline. */
  wrap<A extends readonly unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T | F> {
    return wrapWith(this, fn);
  }

  #run<T>(fn: Callee<T>, token: Token | undefined): Promise<T | F> {
    return new PipelineRun(fn as Callee<unknown>, this.policies, this.#runners).step(0, token) as Promise<T | F>;
  }
}

/** One execution of a pipeline: counts the calls of `fn` and hands each policy the next step. */
class PipelineRun implements PipelineStepper {
  readonly #fn: Callee<unknown>;
  readonly #policies: readonly ResiliencePolicy<unknown>[];
  readonly #runners: readonly (Runner | undefined)[];
  #attempts = 0;

  constructor(
    fn: Callee<unknown>,
    policies: readonly ResiliencePolicy<unknown>[],
    runners: readonly (Runner | undefined)[],
  ) {
    this.#fn = fn;
    this.#policies = policies;
    this.#runners = runners;
  }

  step(i: number, token: Token | undefined): Promise<unknown> {
    const policy = this.#policies[i];
    if (policy === undefined) return callNext(this.#fn, token, ++this.#attempts);
    const runner = this.#runners[i];
    if (runner !== undefined) return runner.call(policy, new Continuation(this, i + 1), token);
    // A policy written elsewhere: guard against a synchronous throw or a non-promise result. The
    // continuation is an inline arrow, not a named binding: transpilers that keep names wrap those.
    try {
      return Promise.resolve(policy.execute((context) => this.step(i + 1, tokenOf(context)), token?.signal));
    } catch (error: unknown) {
      return Promise.reject(error);
    }
  }
}

/**
 * Composes policies in the order written, the first outermost. The recommended order is
 * `pipeline(fallback, bulkhead, retry, breaker, timeout)`: the fallback answers everything below it; the
 * bulkhead bounds concurrency of whole operations (retries included) and its rejections are neither
 * retried nor counted by the breaker; each retry goes through the breaker, so an open breaker stops the
 * retries at once; the timeout bounds each attempt and its timeouts count as breaker failures.
 *
 * @param policies - Outermost first.
 * @throws `ValidationError` when an entry is not a policy.
 * @example
 * ```ts
 * import { bulkhead, CircuitBreaker, fallback, pipeline, retry, timeout } from 'system-design-blocks/resilience';
 *
 * const payments = pipeline(
 *   fallback({ status: 'pending' }),
 *   bulkhead({ concurrency: 32, maxQueue: 64 }),
 *   retry({ maxAttempts: 3, backoff: { initial: 100, max: 1_000, jitter: 'full' } }),
 *   new CircuitBreaker({ name: 'gateway', failureThreshold: 50, minimumCalls: 20, resetAfter: 5_000 }),
 *   timeout(2_000),
 * );
 * const result = await payments.execute(async ({ signal }) => {
 *   const response = await fetch('https://gateway.example/charge', { method: 'POST', signal });
 *   return { status: response.ok ? 'charged' : 'declined' } as const;
 * });
 * console.log(result.status); // 'charged' | 'declined' | 'pending'
 * ```
 */
export function pipeline<const P extends readonly ResiliencePolicy<unknown>[]>(
  ...policies: P
): Pipeline<FallbackOf<P[number]>> {
  return new Pipeline<FallbackOf<P[number]>>(policies);
}
