/**
 * The one shape every resilience policy has: `execute(fn, signal?)`, where `fn` receives a
 * {@link PolicyContext}, and `wrap(fn)`. Policies compose with {@link pipeline}.
 */

/** What a guarded function receives. */
export interface PolicyContext {
  /**
   * Aborts when the caller's signal aborts or a policy gives up on this call (a timeout, for instance);
   * the reason is the error the policy rejects with. Pass it to `fetch`, database drivers and the like.
   * Created on first read (a getter), so calls that never look at it pay nothing for it; read it as
   * `context.signal` rather than spreading the context, which would not copy it.
   */
  readonly signal: AbortSignal;
  /** 1 for the first call of `fn` within one `execute`, 2 for the first retry, and so on. */
  readonly attempt: number;
}

/** A function a policy guards: gets the context, returns a value or a promise of one. */
export type PolicyFn<T> = (context: PolicyContext) => T | PromiseLike<T>;

/**
 * A resilience policy. `R` is what the policy may resolve with instead of the call's own result (a
 * fallback value); `never` for policies without a fallback.
 */
export interface ResiliencePolicy<R = never> {
  /**
   * Runs `fn` under this policy.
   *
   * @param fn - The guarded call.
   * @param signal - Cancels the call: the returned promise rejects with the signal's reason and `fn`'s
   *   signal aborts.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | R>;
  /**
   * Type-level marker of `R`, so {@link pipeline} can infer the fallback types of its policies. Never set
   * at runtime; a custom policy with a fallback declares it as `declare readonly '~fallback'?: () => R`.
   */
  readonly '~fallback'?: () => R;
}

/**
 * The fallback result type of a policy: `R` for a `ResiliencePolicy<R>`, `never` when the policy declares
 * none.
 */
export type FallbackOf<P> =
  P extends Pick<ResiliencePolicy<infer R>, '~fallback'> ? ('~fallback' extends keyof P ? R : never) : never;
