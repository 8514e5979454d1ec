import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flushMicrotasks, isAbortedError, isValidationError, ManualClock, systemClock } from '../../src/core/index.js';

describe('ManualClock', () => {
  it('starts where told and only moves on advance', () => {
    const clock = new ManualClock(1000);
    expect(clock.now()).toBe(1000);
    clock.advance(250);
    expect(clock.now()).toBe(1250);
  });

  it('wakes due sleepers in time order, each seeing its own due time', async () => {
    const clock = new ManualClock();
    const woke: [string, number][] = [];
    const at = (name: string, ms: number) => clock.sleep(ms).then(() => woke.push([name, clock.now()]));
    const all = Promise.all([at('c', 30), at('a', 10), at('b', 20), at('late', 100)]);
    clock.advance(50);
    await flushMicrotasks();
    expect(woke.map(([n]) => n)).toEqual(['a', 'b', 'c']);
    expect(clock.pending).toBe(1);
    clock.advance(50);
    await all;
    expect(woke.at(-1)).toEqual(['late', 100]);
  });

  it('ties wake in the order the sleepers started', async () => {
    const clock = new ManualClock();
    const order: number[] = [];
    for (let i = 0; i < 5; i++) void clock.sleep(10).then(() => order.push(i));
    clock.advance(10);
    await flushMicrotasks();
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('advanceAsync drives code that sleeps again inside the window', async () => {
    const clock = new ManualClock();
    const ticks: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 4; i++) {
        await clock.sleep(10);
        ticks.push(clock.now());
      }
    })();
    await clock.advanceAsync(35);
    expect(ticks).toEqual([10, 20, 30]);
    expect(clock.now()).toBe(35);
    await clock.runNext();
    await loop;
    expect(ticks).toEqual([10, 20, 30, 40]);
    expect(await clock.runNext()).toBe(false);
  });

  it('a zero sleep resolves on the next advance(0)', async () => {
    const clock = new ManualClock();
    let done = false;
    void clock.sleep(0).then(() => {
      done = true;
    });
    await flushMicrotasks();
    expect(done).toBe(false);
    clock.advance(0);
    await flushMicrotasks();
    expect(done).toBe(true);
  });

  it('abort removes the sleeper and rejects with the reason', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(100, controller.signal);
    expect(clock.pending).toBe(1);
    controller.abort();
    await expect(sleeping).rejects.toSatisfy(isAbortedError);
    expect(clock.pending).toBe(0);
    const reason = new Error('stop');
    const pre = new AbortController();
    pre.abort(reason);
    await expect(clock.sleep(1, pre.signal)).rejects.toBe(reason);
  });

  it('property: sleepers wake exactly when due, in (time, arrival) order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 6 }),
        async (delays, steps) => {
          const clock = new ManualClock();
          const woke: { i: number; at: number; now: number }[] = [];
          delays.forEach((d, i) => void clock.sleep(d).then(() => woke.push({ i, at: d, now: clock.now() })));
          for (const s of steps) await clock.advanceAsync(s);
          const total = steps.reduce((a, b) => a + b, 0);
          const expected = delays
            .map((d, i) => ({ i, at: d }))
            .filter((x) => x.at <= total)
            .sort((a, b) => a.at - b.at || a.i - b.i);
          expect(woke.map((w) => w.i)).toEqual(expected.map((x) => x.i));
          for (const w of woke) expect(w.now).toBeGreaterThanOrEqual(w.at);
        },
      ),
    );
  });

  it('rejects bad durations', () => {
    const clock = new ManualClock();
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => clock.advance(bad)).toThrow(expect.objectContaining({ argument: 'ms' }));
      expect(() => clock.sleep(bad)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    }
    expect(() => new ManualClock(-5)).toThrow(expect.objectContaining({ argument: 'start' }));
  });
});

describe('systemClock', () => {
  it('is monotonic', () => {
    const a = systemClock.now();
    const b = systemClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
  });

  it('rejects a sleep at once when the signal has already aborted, and validates its input', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(systemClock.sleep(10_000, controller.signal)).rejects.toSatisfy(isAbortedError);
    let caught: unknown;
    try {
      await systemClock.sleep(-1);
    } catch (error: unknown) {
      caught = error;
    }
    expect(isValidationError(caught)).toBe(true);
  });

  it('a sleep aborted midway rejects and releases its timer', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error('bye'));
    await expect(sleeping).rejects.toThrow('bye');
  });
});
