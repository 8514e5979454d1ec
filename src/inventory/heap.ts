/** An item an {@link IndexedHeap} can hold: its key, and the slot the heap keeps it in. */
export interface HeapItem {
  /** The ordering key (smallest first); change it only through {@link IndexedHeap.update}. */
  heapKey: number;
  /** The item's position in the heap, or -1 when it is not in one. */
  heapIndex: number;
}

/**
 * A binary min-heap that knows where each item sits, so an item can be removed or re-keyed in O(log n).
 * Holds are removed the moment they are confirmed or released, so the heap only ever holds live holds.
 */
export class IndexedHeap<T extends HeapItem> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0) return;
    const last = this.#items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  /** Re-places `item` after its `heapKey` changed. */
  update(item: T): void {
    if (item.heapIndex < 0) return;
    this.#up(item.heapIndex);
    this.#down(item.heapIndex);
  }

  #up(start: number): void {
    const items = this.#items;
    const item = items[start] as T;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (p.heapKey <= item.heapKey) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  #down(start: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[start] as T;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && (items[r] as T).heapKey < (items[l] as T).heapKey) c = r;
      const child = items[c] as T;
      if (child.heapKey >= item.heapKey) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
