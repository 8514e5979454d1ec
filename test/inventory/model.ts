/**
 * A deliberately simple reference model of the inventory semantics: plain maps, full scans, no heaps, no
 * caching. The model-based test applies every operation to it in the order the real store applied them and
 * compares outcomes and state.
 */

export interface ModelRow {
  onHand: number;
  held: number;
  committed: number;
  received: number;
  adjusted: number;
}

export interface ModelSku {
  safetyStock: number;
  backorderLimit: number;
  locations: Map<string, ModelRow>;
}

export interface ModelReservation {
  id: string;
  state: 'held' | 'confirmed' | 'released' | 'expired';
  items: Map<string, number>;
  allocations: [sku: string, location: string, qty: number][];
  expiresAt: number;
  endedAt: number;
}

/** What an operation returned, reduced to what the model predicts. */
export type Outcome = { ok: true; value: string } | { ok: false; code: string };

export type ModelOp =
  | { kind: 'restock'; sku: string; location: string; qty: number }
  | { kind: 'adjust'; sku: string; location: string; delta: number }
  | { kind: 'policy'; sku: string; safetyStock: number; backorderLimit: number }
  | {
      kind: 'reserve';
      id: string;
      items: { sku: string; qty: number }[];
      ttl: number;
      locations: string[] | undefined;
      strategy: 'priority' | 'mostAvailable';
      split: boolean;
    }
  | { kind: 'confirm' | 'release'; id: string }
  | { kind: 'extend'; id: string; ttl: number }
  | { kind: 'sweep'; purgeBefore: number }
  | { kind: 'read'; sku: string };

export function describeReservation(
  state: string,
  expiresAt: number,
  allocations: readonly (readonly [string, string, number])[],
): string {
  const placed = allocations.map(([s, l, q]) => `${s}@${l}:${q}`).sort();
  return `${state} until ${expiresAt} [${placed.join(' ')}]`;
}

const fail = (code: string): Outcome => ({ ok: false, code });
const ok = (value: string): Outcome => ({ ok: true, value });

export class InventoryModel {
  now = Number.NEGATIVE_INFINITY;
  readonly skus = new Map<string, ModelSku>();
  readonly reservations = new Map<string, ModelReservation>();
  unannounced: string[] = [];
  counts = { reserved: 0, confirmed: 0, released: 0, expired: 0 };

  apply(op: ModelOp, now: number): Outcome {
    this.now = Math.max(this.now, now);
    this.#expireDue();
    switch (op.kind) {
      case 'restock':
        return this.#restock(op.sku, op.location, op.qty);
      case 'adjust':
        return this.#adjust(op.sku, op.location, op.delta);
      case 'policy':
        return this.#policy(op.sku, op.safetyStock, op.backorderLimit);
      case 'reserve':
        return this.#reserve(op);
      case 'confirm':
        return this.#confirm(op.id);
      case 'release':
        return this.#release(op.id);
      case 'extend':
        return this.#extend(op.id, op.ttl);
      case 'sweep':
        return this.#sweep(op.purgeBefore);
      case 'read': {
        const sku = this.skus.get(op.sku);
        if (sku === undefined) return fail('E_INVALID_ARGUMENT');
        let available = 0;
        for (const row of sku.locations.values()) available += row.onHand - row.held - sku.safetyStock;
        return ok(`available ${available}`);
      }
    }
  }

  #expireDue(): void {
    for (const r of this.reservations.values()) {
      if (r.state === 'held' && r.expiresAt <= this.now) {
        this.#unhold(r);
        r.state = 'expired';
        r.endedAt = r.expiresAt;
        this.unannounced.push(r.id);
      }
    }
  }

  #unhold(r: ModelReservation): void {
    for (const [sku, location, qty] of r.allocations) (this.#row(sku, location) as ModelRow).held -= qty;
  }

  #row(sku: string, location: string): ModelRow | undefined {
    return this.skus.get(sku)?.locations.get(location);
  }

  #restock(sku: string, location: string, qty: number): Outcome {
    let s = this.skus.get(sku);
    if (s === undefined) {
      s = { safetyStock: 0, backorderLimit: 0, locations: new Map() };
      this.skus.set(sku, s);
    }
    let row = s.locations.get(location);
    if (row === undefined) {
      row = { onHand: 0, held: 0, committed: 0, received: 0, adjusted: 0 };
      s.locations.set(location, row);
    }
    row.onHand += qty;
    row.received += qty;
    return ok(`onHand ${row.onHand}`);
  }

  #adjust(sku: string, location: string, delta: number): Outcome {
    const row = this.#row(sku, location);
    if (row === undefined) return fail('E_INVALID_ARGUMENT');
    if (row.onHand + delta < row.held && delta < 0) return fail('E_STOCK_CONFLICT');
    row.onHand += delta;
    row.adjusted += delta;
    return ok(`onHand ${row.onHand}`);
  }

  #policy(sku: string, safetyStock: number, backorderLimit: number): Outcome {
    const s = this.skus.get(sku);
    if (s === undefined) {
      this.skus.set(sku, { safetyStock, backorderLimit, locations: new Map() });
      return ok('policy');
    }
    for (const row of s.locations.values()) if (row.held - row.onHand > backorderLimit) return fail('E_STOCK_CONFLICT');
    s.safetyStock = safetyStock;
    s.backorderLimit = backorderLimit;
    return ok('policy');
  }

  #reserve(op: Extract<ModelOp, { kind: 'reserve' }>): Outcome {
    const wanted = new Map<string, number>();
    for (const item of op.items) wanted.set(item.sku, (wanted.get(item.sku) ?? 0) + item.qty);
    const existing = this.reservations.get(op.id);
    if (existing !== undefined) {
      const same =
        existing.items.size === wanted.size && [...wanted].every(([sku, qty]) => existing.items.get(sku) === qty);
      if (!same) return fail('E_RESERVATION_CONFLICT');
      if (existing.state === 'expired') return fail('E_RESERVATION_EXPIRED');
      if (existing.state === 'released') return fail('E_RESERVATION_CONFLICT');
      return ok(describeReservation(existing.state, existing.expiresAt, existing.allocations));
    }
    for (const sku of wanted.keys()) if (!this.skus.has(sku)) return fail('E_INVALID_ARGUMENT');
    const plan: [string, string, number][] = [];
    const short: string[] = [];
    for (const [sku, qty] of wanted) {
      const s = this.skus.get(sku) as ModelSku;
      const names = op.locations ?? [...s.locations.keys()];
      const candidates = names
        .filter((l) => s.locations.has(l))
        .map((l) => {
          const row = s.locations.get(l) as ModelRow;
          const free = row.onHand - row.held - s.safetyStock;
          return { l, stock: Math.max(0, free), total: Math.max(0, free + s.backorderLimit) };
        });
      const ordered =
        op.strategy === 'priority'
          ? candidates
          : candidates
              .map((c, i) => ({ c, i }))
              .sort((a, b) => b.c.stock - a.c.stock || b.c.total - a.c.total || a.i - b.i)
              .map((x) => x.c);
      if (!op.split) {
        const pick = ordered.find((c) => c.stock >= qty) ?? ordered.find((c) => c.total >= qty);
        if (pick === undefined) short.push(`${sku} ${qty}/${Math.max(0, ...ordered.map((c) => c.total))}`);
        else plan.push([sku, pick.l, qty]);
        continue;
      }
      const everywhere = ordered.reduce((sum, c) => sum + c.total, 0);
      if (everywhere < qty) {
        short.push(`${sku} ${qty}/${everywhere}`);
        continue;
      }
      const take = new Map<string, number>();
      let left = qty;
      for (const c of ordered) {
        const n = Math.min(c.stock, left);
        if (n > 0) take.set(c.l, n);
        left -= n;
      }
      for (const c of ordered) {
        const n = Math.min(c.total - (take.get(c.l) ?? 0), left);
        if (n > 0) take.set(c.l, (take.get(c.l) ?? 0) + n);
        left -= n;
      }
      for (const [l, n] of take) plan.push([sku, l, n]);
    }
    if (short.length > 0) return ok(`short ${short.join(' ')}`);
    for (const [sku, l, n] of plan) (this.#row(sku, l) as ModelRow).held += n;
    const r: ModelReservation = {
      id: op.id,
      state: 'held',
      items: wanted,
      allocations: plan,
      expiresAt: this.now + op.ttl,
      endedAt: Number.NaN,
    };
    this.reservations.set(op.id, r);
    this.counts.reserved++;
    return ok(describeReservation('held', r.expiresAt, plan));
  }

  #confirm(id: string): Outcome {
    const r = this.reservations.get(id);
    if (r === undefined) return fail('E_RESERVATION_NOT_FOUND');
    if (r.state === 'expired') return fail('E_RESERVATION_EXPIRED');
    if (r.state === 'released') return fail('E_RESERVATION_STATE');
    if (r.state === 'held') {
      for (const [sku, l, n] of r.allocations) {
        const row = this.#row(sku, l) as ModelRow;
        row.held -= n;
        row.onHand -= n;
        row.committed += n;
      }
      r.state = 'confirmed';
      r.endedAt = this.now;
      this.counts.confirmed++;
    }
    return ok(describeReservation(r.state, r.expiresAt, r.allocations));
  }

  #release(id: string): Outcome {
    const r = this.reservations.get(id);
    if (r === undefined) return fail('E_RESERVATION_NOT_FOUND');
    if (r.state === 'confirmed') return fail('E_RESERVATION_STATE');
    if (r.state === 'held') {
      this.#unhold(r);
      r.state = 'released';
      r.endedAt = this.now;
      this.counts.released++;
    }
    return ok(describeReservation(r.state, r.expiresAt, r.allocations));
  }

  #extend(id: string, ttl: number): Outcome {
    const r = this.reservations.get(id);
    if (r === undefined) return fail('E_RESERVATION_NOT_FOUND');
    if (r.state === 'expired') return fail('E_RESERVATION_EXPIRED');
    if (r.state !== 'held') return fail('E_RESERVATION_STATE');
    r.expiresAt = Math.max(r.expiresAt, this.now + ttl);
    return ok(describeReservation(r.state, r.expiresAt, r.allocations));
  }

  #sweep(purgeBefore: number): Outcome {
    let purged = 0;
    for (const [id, r] of this.reservations) {
      if (r.state !== 'held' && r.endedAt <= purgeBefore) {
        this.reservations.delete(id);
        purged++;
      }
    }
    const expired = this.unannounced.sort();
    this.unannounced = [];
    this.counts.expired += expired.length;
    return ok(`expired [${expired.join(' ')}] purged ${purged}`);
  }
}
