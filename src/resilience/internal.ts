/**
 * Machinery shared by the policies, not exported from the block.
 *
 * Cancellation inside a pipeline travels as a {@link Token}, not as an `AbortSignal`: on Node 20 creating
 * an `AbortSignal` costs several microseconds (more than a whole breaker call), so a token materialises
 * one only when user code reads `context.signal`, or when a wait needs a real signal (a backoff sleep).
 */
import { abortReason, type Clock, systemClock, ValidationError } from '../core/index.js';
import type { PolicyContext, PolicyFn, ResiliencePolicy } from './policy.js';

/** A cancellation source. */
export interface Token {
  readonly aborted: boolean;
  /** Valid once aborted: what the call should reject with. */
  readonly reason: unknown;
  /** An `AbortSignal` view of this token, created on first read. */
  readonly signal: AbortSignal;
  /** Calls `listener` once when the token aborts; returns the function that unsubscribes. */
  subscribe(listener: (reason: unknown) => void): () => void;
}

/** A caller's `AbortSignal` as a token. */
export class SignalToken implements Token {
  readonly signal: AbortSignal;
  #reason: unknown;
  #hasReason = false;

  constructor(signal: AbortSignal) {
    this.signal = signal;
  }

  get aborted(): boolean {
    return this.signal.aborted;
  }

  get reason(): unknown {
    if (!this.#hasReason) {
      this.#reason = abortReason(this.signal);
      this.#hasReason = true;
    }
    return this.#reason;
  }

  subscribe(listener: (reason: unknown) => void): () => void {
    return subscribeToSignal(this, listener);
  }
}

function subscribeToSignal(token: SignalToken, listener: (reason: unknown) => void): () => void {
  const signal = token.signal;
  function onAbort(): void {
    listener(token.reason);
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** A token a policy owns (a per-call timeout): aborts by itself or when its parent aborts. */
export class DerivedToken implements Token {
  #aborted = false;
  #reason: unknown;
  #controller: AbortController | undefined;
  #listeners: ((reason: unknown) => void)[] | undefined;
  #unlink: (() => void) | undefined;

  constructor(parent: Token | undefined) {
    if (parent === undefined) return;
    if (parent.aborted) this.abort(parent.reason);
    else this.#unlink = parent.subscribe((reason) => this.abort(reason));
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.release();
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener(reason);
  }

  /** Stops following the parent (the call has settled). */
  release(): void {
    const unlink = this.#unlink;
    this.#unlink = undefined;
    unlink?.();
  }

  subscribe(listener: (reason: unknown) => void): () => void {
    if (this.#listeners === undefined) this.#listeners = [listener];
    else this.#listeners.push(listener);
    return () => {
      const list = this.#listeners;
      if (list === undefined) return;
      const index = list.indexOf(listener);
      if (index !== -1) list.splice(index, 1);
    };
  }
}

/**
 * The context handed to `fn`. A class with a prototype getter: an object literal with a getter costs
 * microseconds to create on V8, a class instance tens of nanoseconds.
 */
class CallContext implements PolicyContext {
  readonly attempt: number;
  readonly #token: Token | undefined;
  #controller: AbortController | undefined;

  constructor(token: Token | undefined, attempt: number) {
    this.#token = token;
    this.attempt = attempt;
  }

  /** The token behind a context made here; a foreign context's signal as a token. */
  static tokenOf(context: PolicyContext): Token | undefined {
    return #token in context ? context.#token : new SignalToken(context.signal);
  }

  get signal(): AbortSignal {
    const token = this.#token;
    if (token !== undefined) return token.signal;
    if (this.#controller === undefined) this.#controller = new AbortController();
    return this.#controller.signal;
  }
}

/** The context handed to `fn`: its `signal` is created on first read. */
export function makeContext(token: Token | undefined, attempt: number): PolicyContext {
  return new CallContext(token, attempt);
}

/** The token behind a context: the one it was made with, or its signal for a context made elsewhere. */
export function tokenOf(context: PolicyContext): Token | undefined {
  return CallContext.tokenOf(context);
}

/** A caller's optional signal as a token, validated. */
export function tokenFromSignal(signal: AbortSignal | undefined): Token | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) {
    throw new ValidationError({ argument: 'signal', expected: 'an AbortSignal or undefined', received: signal });
  }
  return new SignalToken(signal);
}

/**
 * The rest of a pipeline after one of its policies. A policy of this block calls it with the token
 * directly ({@link callNext}), so a pipeline costs no context object and no closure per policy.
 */
export class Continuation {
  readonly run: PipelineStepper;
  readonly index: number;

  constructor(run: PipelineStepper, index: number) {
    this.run = run;
    this.index = index;
  }
}

/** What a {@link Continuation} resumes: one execution of a pipeline. */
export interface PipelineStepper {
  step(index: number, token: Token | undefined): Promise<unknown>;
}

/** What a policy's runner calls: the user's function, or the rest of a pipeline. */
export type Callee<T> = PolicyFn<T> | Continuation;

/** Calls the callee: a continuation with the token, a function with a fresh context. */
export function callNext<T>(fn: Callee<T>, token: Token | undefined, attempt: number): Promise<T> {
  if (fn instanceof Continuation) return fn.run.step(fn.index, token) as Promise<T>;
  return invoke(fn, makeContext(token, attempt));
}

/** Calls `fn` and always returns a promise (a synchronous throw becomes a rejection). */
export function invoke<T>(fn: PolicyFn<T>, context: PolicyContext): Promise<T> {
  try {
    return Promise.resolve(fn(context)) as Promise<T>;
  } catch (error: unknown) {
    return Promise.reject(error);
  }
}

function ignore(): void {}

/** Settles with `promise`, or rejects with the token's reason as soon as it aborts. */
export function raceToken<T>(promise: Promise<T>, token: Token | undefined): Promise<T> {
  if (token === undefined) return promise;
  if (token.aborted) {
    promise.then(ignore, ignore);
    return Promise.reject(token.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const unsubscribe = token.subscribe(reject);
    promise.then(
      (value) => {
        unsubscribe();
        resolve(value);
      },
      (error: unknown) => {
        unsubscribe();
        reject(error);
      },
    );
  });
}

/** A pending timer from {@link startTimer}: a `setTimeout` handle, or the controller of a clock sleep. */
export type TimerHandle = ReturnType<typeof setTimeout> | AbortController;

/**
 * Starts a one-shot timer on `clock` that calls `onFire(arg)`; cancel it with {@link cancelTimer}. On
 * {@link systemClock} it is a plain unref'd `setTimeout` (no closure, no `AbortSignal` to cancel it); any
 * other clock is driven through `clock.sleep(ms, signal)`.
 */
export function startTimer<A>(clock: Clock, ms: number, onFire: (arg: A) => void, arg: A): TimerHandle {
  if (clock === systemClock) {
    const timer = setTimeout(onFire, ms, arg);
    timer.unref?.();
    return timer;
  }
  const controller = new AbortController();
  clock.sleep(ms, controller.signal).then(() => onFire(arg), ignore);
  return controller;
}

/** Cancels a timer from {@link startTimer}. */
export function cancelTimer(handle: TimerHandle): void {
  if (handle instanceof AbortController) handle.abort();
  else clearTimeout(handle);
}

/** The internal entry point of a policy: like `execute`, with the cancellation as a token. */
export type Runner = (fn: Callee<unknown>, token: Token | undefined) => Promise<unknown>;

/** The key under which this block's policies keep their {@link Runner} on their prototype. */
export const RUN: unique symbol = Symbol('system-design-blocks.resilience.run');

interface Runnable {
  readonly [RUN]?: Runner;
}

/** The runner of one of this block's policies, or `undefined` for a policy written elsewhere. */
export function runnerOf(policy: ResiliencePolicy<unknown>): Runner | undefined {
  return (policy as Runnable)[RUN];
}

/** Rejects when `fn` is not a function; `undefined` when it is. */
export function rejectIfNotFunction(fn: unknown): Promise<never> | undefined {
  if (typeof fn === 'function') return undefined;
  return Promise.reject(new ValidationError({ argument: 'fn', expected: 'a function', received: fn }));
}

/**
 * `execute` of a policy of this block: checks `fn` and `signal` (a bad one rejects, naming it), then hands
 * the call to the policy's {@link Runner}.
 */
export function executeWith<R>(policy: object, fn: unknown, signal: AbortSignal | undefined): Promise<R> {
  const bad = rejectIfNotFunction(fn);
  if (bad !== undefined) return bad;
  let token: Token | undefined;
  try {
    token = tokenFromSignal(signal);
  } catch (error: unknown) {
    return Promise.reject(error);
  }
  return ((policy as Runnable)[RUN] as Runner).call(policy, fn as Callee<unknown>, token) as Promise<R>;
}

/** `(...args) => policy.execute(() => fn(...args))`, with `fn` checked up front. */
export function wrapWith<A extends readonly unknown[], T, R>(
  policy: ResiliencePolicy<R>,
  fn: (...args: A) => T | PromiseLike<T>,
): (...args: A) => Promise<T | R> {
  if (typeof fn !== 'function') {
    throw new ValidationError({ argument: 'fn', expected: 'a function', received: fn });
  }
  return (...args: A) => policy.execute(() => fn(...args));
}

/**
 * Calls a user predicate (`isFailure`, `retryIf`, `when`); a predicate that throws counts as `fallback`
 * and its error is reported on a later microtask, like a throwing event listener.
 */
export function safePredicate(predicate: (error: unknown) => boolean, error: unknown, fallback: boolean): boolean {
  try {
    return predicate(error) === true;
  } catch (thrown: unknown) {
    queueMicrotask(() => {
      throw thrown;
    });
    return fallback;
  }
}
