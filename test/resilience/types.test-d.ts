import { describe, expectTypeOf, it } from 'vitest';
import {
  type Bulkhead,
  bulkhead,
  CircuitBreaker,
  type CircuitBreakerSnapshot,
  type CircuitState,
  type FallbackOf,
  type FallbackPolicy,
  fallback,
  type Pipeline,
  type PolicyContext,
  type PolicyFn,
  pipeline,
  RateLimiter,
  type ResiliencePolicy,
  type RetryPolicy,
  retry,
  type TimeoutPolicy,
  timeout,
} from '../../src/resilience/index.js';

interface Receipt {
  readonly id: string;
  readonly amount: number;
}

declare const charge: (signal: AbortSignal) => Promise<Receipt>;

describe('resilience types', () => {
  it('fn receives the context, and its result type flows to execute', () => {
    const breaker = new CircuitBreaker();
    breaker.execute((context) => {
      expectTypeOf(context).toEqualTypeOf<PolicyContext>();
      expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(context.attempt).toEqualTypeOf<number>();
      return 1;
    });
    expectTypeOf(breaker.execute(({ signal }) => charge(signal))).toEqualTypeOf<Promise<Receipt>>();
    expectTypeOf(breaker.execute(() => 'sync' as const)).toEqualTypeOf<Promise<'sync'>>();
    expectTypeOf(retry().execute(async () => 42)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(timeout(10).execute(async () => [1, 2])).toEqualTypeOf<Promise<number[]>>();
    expectTypeOf(bulkhead({ concurrency: 1 }).execute(() => true)).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(new RateLimiter({ capacity: 1, refillPerSecond: 1 }).execute(() => null)).toEqualTypeOf<
      Promise<null>
    >();
  });

  it('no any leaks: results are not any, errors are unknown', () => {
    const result = new CircuitBreaker().execute(async () => ({ ok: true }));
    expectTypeOf(result).not.toBeAny();
    expectTypeOf<Awaited<typeof result>>().toEqualTypeOf<{ ok: boolean }>();
    new CircuitBreaker({
      isFailure: (error) => {
        expectTypeOf(error).toBeUnknown();
        return true;
      },
    });
    retry({
      retryIf: (error, attempt) => {
        expectTypeOf(error).toBeUnknown();
        expectTypeOf(attempt).toEqualTypeOf<number>();
        return true;
      },
    });
  });

  it('a breaker fallback widens the result with its type', () => {
    const breaker = new CircuitBreaker({ fallback: (): 'pending' => 'pending' });
    expectTypeOf(breaker).toEqualTypeOf<CircuitBreaker<'pending'>>();
    expectTypeOf(breaker.execute(({ signal }) => charge(signal))).toEqualTypeOf<Promise<Receipt | 'pending'>>();
    const nullable = new CircuitBreaker({ fallback: async () => null });
    expectTypeOf(nullable.execute(() => 1)).toEqualTypeOf<Promise<number | null>>();
  });

  it('fallback(value) keeps literal types; fallback(fn) takes the handler result', () => {
    expectTypeOf(fallback('pending')).toEqualTypeOf<FallbackPolicy<'pending'>>();
    expectTypeOf(fallback((error) => String(error))).toEqualTypeOf<FallbackPolicy<string>>();
    expectTypeOf(fallback(async () => 0)).toEqualTypeOf<FallbackPolicy<number>>();
    expectTypeOf(fallback(undefined).execute(() => 'x')).toEqualTypeOf<Promise<string | undefined>>();
  });

  it('pipeline collects the fallback types of its policies', () => {
    const p = pipeline(fallback('pending'), bulkhead({ concurrency: 2 }), retry(), new CircuitBreaker(), timeout(5));
    expectTypeOf(p).toEqualTypeOf<Pipeline<'pending'>>();
    expectTypeOf(p.execute(({ signal }) => charge(signal))).toEqualTypeOf<Promise<Receipt | 'pending'>>();
    const plain = pipeline(retry(), timeout(5));
    expectTypeOf(plain.execute(async () => 1)).toEqualTypeOf<Promise<number>>();
    const two = pipeline(fallback(null), new CircuitBreaker({ fallback: (): -1 => -1 }));
    expectTypeOf(two.execute(async () => 1)).toEqualTypeOf<Promise<number | null | -1>>();
    const nested = pipeline(pipeline(fallback(0 as const)), retry());
    expectTypeOf(nested.execute(async () => 'x')).toEqualTypeOf<Promise<string | 0>>();
    expectTypeOf(pipeline().execute(() => 1n)).toEqualTypeOf<Promise<bigint>>();
  });

  it('FallbackOf reads the marker, and is never for policies without one', () => {
    expectTypeOf<FallbackOf<FallbackPolicy<'x'>>>().toEqualTypeOf<'x'>();
    expectTypeOf<FallbackOf<RetryPolicy>>().toBeNever();
    expectTypeOf<FallbackOf<TimeoutPolicy>>().toBeNever();
    expectTypeOf<FallbackOf<Bulkhead>>().toBeNever();
    const custom: ResiliencePolicy = { execute: <T>(fn: PolicyFn<T>) => Promise.resolve(fn({} as PolicyContext)) };
    expectTypeOf<FallbackOf<typeof custom>>().toBeNever();
    expectTypeOf(pipeline(custom, retry()).execute(() => 'a')).toEqualTypeOf<Promise<string>>();
  });

  it('wrap keeps the parameters and adds the fallback type', () => {
    const wrapped = new CircuitBreaker({ fallback: () => 0 }).wrap(async (sku: string, qty: number) => `${sku}:${qty}`);
    expectTypeOf(wrapped).toEqualTypeOf<(sku: string, qty: number) => Promise<string | number>>();
    expectTypeOf(retry().wrap((a: number) => a * 2)).toEqualTypeOf<(a: number) => Promise<number>>();
    // @ts-expect-error wrong argument type
    wrapped(1, 2);
  });

  it('state and snapshots are discriminated unions', () => {
    const breaker = new CircuitBreaker();
    expectTypeOf(breaker.state).toEqualTypeOf<CircuitState>();
    expectTypeOf<CircuitState>().toEqualTypeOf<'closed' | 'open' | 'halfOpen'>();
    const snapshot = breaker.toJSON();
    expectTypeOf(snapshot).toEqualTypeOf<CircuitBreakerSnapshot>();
    if (snapshot.state === 'open' && !snapshot.isolated) expectTypeOf(snapshot.remainingMs).toEqualTypeOf<number>();
    if (snapshot.state === 'closed') expectTypeOf(snapshot.window.calls).toEqualTypeOf<number>();
    // @ts-expect-error remainingMs only exists on a non-isolated open snapshot
    snapshot.remainingMs;
  });

  it('events are typed and disposable', () => {
    const breaker = new CircuitBreaker();
    const handle = breaker.onOpen((event) => {
      expectTypeOf(event.reason).toEqualTypeOf<'failureRate' | 'probeFailed' | 'isolated'>();
      expectTypeOf(event.openForMs).toEqualTypeOf<number | undefined>();
    });
    expectTypeOf(handle.dispose).toEqualTypeOf<() => void>();
    retry().onRetry((event) => {
      expectTypeOf(event.delayMs).toEqualTypeOf<number>();
      expectTypeOf(event.error).toBeUnknown();
    });
  });

  it('options reject unsafe or malformed configurations', () => {
    // @ts-expect-error a bulkhead needs its concurrency
    bulkhead({ maxQueue: 3 });
    // @ts-expect-error a rate limiter needs its rate
    new RateLimiter({ capacity: 10 });
    // @ts-expect-error jitter is one of four strategies
    retry({ backoff: { jitter: 'random' } });
    // @ts-expect-error resetAfter needs a cap when it grows
    new CircuitBreaker({ resetAfter: { initial: 1_000 } });
  });
});
