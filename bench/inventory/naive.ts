/**
 * The baseline: how inventory reservation is commonly written by hand. Check-then-act against an async
 * store (read the stock, await, write the hold), made safe by an `async-mutex` lock per SKU (taken in
 * sorted order so multi-SKU carts cannot deadlock). Correct, but every reservation queues on its SKUs'
 * locks and pays three awaited round trips.
 */
import { Mutex } from 'async-mutex';

interface Stock {
  onHand: number;
  held: number;
}

interface Line {
  readonly sku: string;
  readonly qty: number;
}

/** An async key-value store, as the naive code would talk to (a Map behind promises). */
class AsyncTable<V> {
  readonly #rows = new Map<string, V>();
  async get(key: string): Promise<V | undefined> {
    return this.#rows.get(key);
  }
  async set(key: string, value: V): Promise<void> {
    this.#rows.set(key, value);
  }
  async delete(key: string): Promise<void> {
    this.#rows.delete(key);
  }
}

/** Mutex-guarded check-then-act inventory: sums demand per SKU, idempotent by id, all or nothing. */
export class MutexInventory {
  readonly #stock = new AsyncTable<Stock>();
  readonly #holds = new AsyncTable<readonly Line[]>();
  readonly #locks = new Map<string, Mutex>();

  #lock(sku: string): Mutex {
    let lock = this.#locks.get(sku);
    if (lock === undefined) {
      lock = new Mutex();
      this.#locks.set(sku, lock);
    }
    return lock;
  }

  async #withLocks<T>(skus: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(skus)].sort();
    const releasers: (() => void)[] = [];
    try {
      for (const sku of sorted) releasers.push(await this.#lock(sku).acquire());
      return await fn();
    } finally {
      for (let i = releasers.length - 1; i >= 0; i--) (releasers[i] as () => void)();
    }
  }

  async restock(sku: string, qty: number): Promise<void> {
    await this.#withLocks([sku], async () => {
      const row = (await this.#stock.get(sku)) ?? { onHand: 0, held: 0 };
      await this.#stock.set(sku, { onHand: row.onHand + qty, held: row.held });
    });
  }

  /** Holds the cart, or returns false when a SKU is short. */
  async reserve(id: string, items: readonly Line[]): Promise<boolean> {
    const demand = new Map<string, number>();
    for (const { sku, qty } of items) demand.set(sku, (demand.get(sku) ?? 0) + qty);
    return this.#withLocks([...demand.keys()], async () => {
      if ((await this.#holds.get(id)) !== undefined) return true;
      const rows = new Map<string, Stock>();
      for (const [sku, qty] of demand) {
        const row = await this.#stock.get(sku);
        if (row === undefined || row.onHand - row.held < qty) return false;
        rows.set(sku, row);
      }
      for (const [sku, qty] of demand) {
        const row = rows.get(sku) as Stock;
        await this.#stock.set(sku, { onHand: row.onHand, held: row.held + qty });
      }
      await this.#holds.set(
        id,
        [...demand].map(([sku, qty]) => ({ sku, qty })),
      );
      return true;
    });
  }

  async release(id: string): Promise<void> {
    const lines = await this.#holds.get(id);
    if (lines === undefined) return;
    await this.#withLocks(
      lines.map((l) => l.sku),
      async () => {
        if ((await this.#holds.get(id)) === undefined) return;
        for (const { sku, qty } of lines) {
          const row = (await this.#stock.get(sku)) as Stock;
          await this.#stock.set(sku, { onHand: row.onHand, held: row.held - qty });
        }
        await this.#holds.delete(id);
      },
    );
  }

  async held(sku: string): Promise<number> {
    return (await this.#stock.get(sku))?.held ?? 0;
  }
}
