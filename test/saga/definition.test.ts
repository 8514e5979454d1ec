import { describe, expect, it } from 'vitest';
import { isValidationError } from '../../src/core/index.js';
import { defineSaga, Saga } from '../../src/saga/index.js';

function argumentOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error: unknown) {
    if (isValidationError(error)) return error.argument;
    throw error;
  }
  return undefined;
}

const noop = (): void => {};

describe('defineSaga', () => {
  it('builds the steps in order with their role and group', () => {
    const saga = defineSaga('checkout')
      .step('reserve', { run: noop, compensate: noop })
      .parallel((g) =>
        g.step('charge', { run: noop, compensate: noop }).step('points', { run: noop, compensate: noop }),
      )
      .pivot('confirm', { run: noop })
      .step('ship', { run: noop })
      .parallel((g) => g.step('email', { run: noop }).step('sms', { run: noop }))
      .build();
    expect(saga).toBeInstanceOf(Saga);
    expect(saga.name).toBe('checkout');
    expect(saga.steps).toEqual([
      { name: 'reserve', kind: 'compensatable', group: 0 },
      { name: 'charge', kind: 'compensatable', group: 1 },
      { name: 'points', kind: 'compensatable', group: 1 },
      { name: 'confirm', kind: 'pivot', group: 2 },
      { name: 'ship', kind: 'retriable', group: 3 },
      { name: 'email', kind: 'retriable', group: 4 },
      { name: 'sms', kind: 'retriable', group: 4 },
    ]);
    expect(Object.isFrozen(saga.steps)).toBe(true);
    expect(Saga.isSaga(saga)).toBe(true);
    expect(Saga.isSaga({ name: 'checkout', steps: [] })).toBe(false);
  });

  it('is immutable: a builder can be branched', () => {
    const base = defineSaga('base').step('a', { run: noop, compensate: noop });
    const one = base.step('b', { run: noop, compensate: noop }).build();
    const two = base.step('c', { run: noop, compensate: noop }).build();
    expect(one.steps.map((s) => s.name)).toEqual(['a', 'b']);
    expect(two.steps.map((s) => s.name)).toEqual(['a', 'c']);
  });

  it('rejects duplicate names, also across and inside parallel groups', () => {
    const base = defineSaga('dup').step('a', { run: noop, compensate: noop });
    const loose = base as unknown as {
      step(name: string, d: object): unknown;
      pivot(name: string, d: object): unknown;
    };
    expect(argumentOf(() => loose.step('a', { run: noop, compensate: noop }))).toBe('name');
    expect(argumentOf(() => loose.pivot('a', { run: noop }))).toBe('name');
    expect(
      argumentOf(() =>
        base.parallel((g) =>
          (g as unknown as { step(n: string, d: object): typeof g })
            .step('x', { run: noop, compensate: noop })
            .step('x', { run: noop, compensate: noop }),
        ),
      ),
    ).toBe('name');
  });

  it('requires a compensation before the pivot and forbids one at or after it (for untyped callers)', () => {
    const loose = defineSaga('rules') as unknown as {
      step(name: string, d: object): typeof loose;
      pivot(name: string, d: object): typeof loose;
    };
    expect(argumentOf(() => loose.step('a', { run: noop }))).toBe('steps.a.compensate');
    expect(argumentOf(() => loose.pivot('p', { run: noop, compensate: noop }))).toBe('steps.p.compensate');
    const after = loose.pivot('p', { run: noop });
    expect(argumentOf(() => after.step('b', { run: noop, compensate: noop }))).toBe('steps.b.compensate');
    expect(argumentOf(() => after.pivot('q', { run: noop }))).toBe('pivot');
  });

  it('validates names, definitions, retries and timeouts up front', () => {
    const b = defineSaga('v') as unknown as { step(name: unknown, d: unknown): unknown };
    expect(argumentOf(() => b.step('', { run: noop, compensate: noop }))).toBe('name');
    expect(argumentOf(() => b.step('has:colon', { run: noop, compensate: noop }))).toBe('name');
    expect(argumentOf(() => b.step(7, { run: noop, compensate: noop }))).toBe('name');
    expect(argumentOf(() => b.step('__proto__', { run: noop, compensate: noop }))).toBe('name');
    expect(argumentOf(() => b.step('a', null))).toBe('steps.a');
    expect(argumentOf(() => b.step('a', { run: 'x', compensate: noop }))).toBe('steps.a.run');
    expect(argumentOf(() => b.step('a', { run: noop, compensate: noop, timeout: 0 }))).toBe('steps.a.timeout');
    expect(argumentOf(() => b.step('a', { run: noop, compensate: noop, retry: { maxAttempts: 0 } }))).toBe(
      'steps.a.retry.maxAttempts',
    );
    expect(argumentOf(() => b.step('a', { run: noop, compensate: noop, retry: { backoff: { initial: -1 } } }))).toBe(
      'steps.a.retry.backoff.initial',
    );
    expect(argumentOf(() => b.step('a', { run: noop, compensate: noop, retry: { retryIf: 1 } }))).toBe(
      'steps.a.retry.retryIf',
    );
    expect(
      argumentOf(() => b.step('a', { run: noop, compensate: noop, retry: { maxAttempts: Number.POSITIVE_INFINITY } })),
    ).toBeUndefined();
    expect(argumentOf(() => defineSaga(''))).toBe('name');
    expect(argumentOf(() => defineSaga('x', { compensationRetry: { maxAttempts: 1.5 } }))).toBe(
      'options.compensationRetry.maxAttempts',
    );
    expect(argumentOf(() => defineSaga('empty').build())).toBe('steps');
    expect(argumentOf(() => defineSaga('g').parallel((g) => g))).toBe('group');
    expect(argumentOf(() => defineSaga('g').parallel((() => undefined) as never))).toBe('group');
  });
});
