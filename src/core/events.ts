/**
 * Typed events with disposable subscriptions. A block keeps one {@link Emitter} per event and exposes its
 * `subscribe` as `onX`. Emitting with no listener is a length check and nothing else.
 */
import { assertFunction } from './validation.js';

/** A handle that undoes a subscription. Calling `dispose()` twice is harmless. */
export interface Disposable {
  /** Removes the listener. */
  dispose(): void;
}

/** A function called with each event's payload. */
export type Listener<T> = (event: T) => void;

/** Subscribes `listener` to one event and returns the handle that removes it. */
export type Subscribe<T> = (listener: Listener<T>) => Disposable;

/**
 * One typed event. Listeners run synchronously in subscription order; a listener that throws does not stop
 * the others or the operation that emitted: its error is re-thrown on a later microtask, where the process'
 * `uncaughtException` handling reports it (as `EventTarget` does).
 *
 * @example
 * ```ts
 * import { Emitter } from 'system-design-blocks';
 *
 * const opened = new Emitter<{ at: number }>();
 * const handle = opened.subscribe((e) => console.log('opened at', e.at));
 * opened.emit({ at: 1 });
 * handle.dispose();
 * ```
 */
export class Emitter<T> {
  // Copy-on-write: subscribing or disposing during an emit does not disturb the listeners being called.
  #listeners: readonly Listener<T>[] = [];

  /** Number of current listeners. */
  get size(): number {
    return this.#listeners.length;
  }

  /** Adds a listener; returns its disposable handle. */
  readonly subscribe: Subscribe<T> = (listener: Listener<T>): Disposable => {
    assertFunction(listener, 'listener');
    const entry: Listener<T> = (event) => listener(event);
    this.#listeners = [...this.#listeners, entry];
    let live = true;
    return {
      dispose: () => {
        if (!live) return;
        live = false;
        this.#listeners = this.#listeners.filter((l) => l !== entry);
      },
    };
  };

  /** Calls every listener with `event`. Free when there are none. */
  emit(event: T): void {
    const listeners = this.#listeners;
    if (listeners.length === 0) return;
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error: unknown) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners = [];
  }
}
