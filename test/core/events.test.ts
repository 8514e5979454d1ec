import { describe, expect, it, vi } from 'vitest';
import { Emitter, isValidationError } from '../../src/core/index.js';

describe('Emitter', () => {
  it('delivers typed payloads to every listener in order', () => {
    const e = new Emitter<{ n: number }>();
    const seen: string[] = [];
    e.subscribe((x) => seen.push(`a${x.n}`));
    e.subscribe((x) => seen.push(`b${x.n}`));
    e.emit({ n: 1 });
    expect(seen).toEqual(['a1', 'b1']);
    expect(e.size).toBe(2);
  });

  it('dispose removes only its own listener and is idempotent', () => {
    const e = new Emitter<number>();
    const f = vi.fn();
    const same = (x: number) => f(x);
    const h1 = e.subscribe(same);
    const h2 = e.subscribe(same);
    h1.dispose();
    h1.dispose();
    e.emit(7);
    expect(f).toHaveBeenCalledTimes(1);
    h2.dispose();
    e.emit(8);
    expect(f).toHaveBeenCalledTimes(1);
    expect(e.size).toBe(0);
  });

  it('subscribing or disposing during an emit affects the next emit only', () => {
    const e = new Emitter<number>();
    const seen: string[] = [];
    let h2: { dispose(): void } | undefined;
    e.subscribe(() => {
      seen.push('a');
      h2?.dispose();
      e.subscribe(() => seen.push('late'));
    });
    h2 = e.subscribe(() => seen.push('b'));
    e.emit(1);
    expect(seen).toEqual(['a', 'b']);
    seen.length = 0;
    e.emit(2);
    expect(seen).toEqual(['a', 'late']);
  });

  it('a throwing listener does not stop the others; its error surfaces asynchronously', async () => {
    const e = new Emitter<number>();
    const boom = new Error('listener bug');
    const after = vi.fn();
    e.subscribe(() => {
      throw boom;
    });
    e.subscribe(after);
    const reported: unknown[] = [];
    const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) => {
      try {
        task();
      } catch (error: unknown) {
        reported.push(error);
      }
    });
    try {
      e.emit(1);
    } finally {
      spy.mockRestore();
    }
    expect(after).toHaveBeenCalledWith(1);
    expect(reported).toEqual([boom]);
  });

  it('rejects a listener that is not a function', () => {
    const e = new Emitter<number>();
    let caught: unknown;
    try {
      e.subscribe(42 as unknown as () => void);
    } catch (error: unknown) {
      caught = error;
    }
    expect(isValidationError(caught)).toBe(true);
  });
});
