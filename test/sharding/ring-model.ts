/**
 * A naive model of the ring, written from the documented layout: each node places round(virtualNodes ·
 * weight) points at xxh32(`id#i`); points sort by position, then by id; a key goes to the first point at or
 * after xxh32(key), wrapping around.
 */
import { xxh32 } from 'system-design-blocks';

export interface ModelNode {
  readonly id: string;
  readonly weight: number;
}

export class RingModel {
  readonly points: { position: number; id: string }[] = [];

  constructor(nodes: readonly ModelNode[], virtualNodes: number) {
    for (const node of nodes) {
      for (let i = 0; i < Math.round(virtualNodes * node.weight); i++) {
        this.points.push({ position: xxh32(`${node.id}#${i}`), id: node.id });
      }
    }
    this.points.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #first(key: string | Uint8Array): number {
    const h = xxh32(key);
    // Plain lower-bound search: the first point at or after h, else wrap to the first point.
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((this.points[mid] as { position: number }).position < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }

  get(key: string | Uint8Array): string {
    return (this.points[this.#first(key)] as { id: string }).id;
  }

  getN(key: string | Uint8Array, n: number): string[] {
    const result: string[] = [];
    const distinct = new Set(this.points.map((p) => p.id)).size;
    for (let i = this.#first(key); result.length < Math.min(n, distinct); i = (i + 1) % this.points.length) {
      const id = (this.points[i] as { id: string }).id;
      if (!result.includes(id)) result.push(id);
    }
    return result;
  }
}
