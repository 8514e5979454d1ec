/**
 * The checkout services the saga benchmark calls, simulated in memory with idempotency keys like the real
 * ones would have: stock, payments, orders, shipping, notifications. `latency: 'tick'` answers each call on
 * the next event-loop turn, the cheapest a remote or I/O-bound call can be; `'none'` answers at once and
 * leaves only bookkeeping to measure.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { defineSaga } from '../../src/saga/index.js';

/** How a simulated call completes. */
export type Latency = 'tick' | 'none';

/** The saga's input. */
export interface CheckoutInput {
  readonly sku: string;
  readonly qty: number;
  readonly cents: number;
}

const MAX_KEYS = 50_000;

/** One idempotent store of effects by key, bounded so a long benchmark does not grow without end. */
class Effects<T> {
  readonly #byKey = new Map<string, T>();

  get(key: string): T | undefined {
    return this.#byKey.get(key);
  }

  put(key: string, value: T): T {
    if (this.#byKey.size >= MAX_KEYS) this.#byKey.clear();
    this.#byKey.set(key, value);
    return value;
  }

  delete(key: string): boolean {
    return this.#byKey.delete(key);
  }
}

/** The five services of the checkout flow. Every call is idempotent by key. */
export class Shop {
  readonly #latency: Latency;
  readonly #reservations = new Effects<{ readonly sku: string; readonly qty: number }>();
  readonly #charges = new Effects<{ readonly chargeId: string; readonly cents: number }>();
  readonly #orders = new Effects<{ readonly confirmed: true }>();
  readonly #shipments = new Effects<{ readonly trackingId: string }>();
  readonly #sent = new Effects<{ readonly to: string }>();
  #stock = 1e12;

  constructor(latency: Latency) {
    this.#latency = latency;
  }

  async #hop(): Promise<void> {
    if (this.#latency === 'tick') await nextTurn();
  }

  async reserve(key: string, sku: string, qty: number): Promise<{ readonly reservationId: string }> {
    await this.#hop();
    if (this.#reservations.get(key) === undefined) {
      this.#stock -= qty;
      this.#reservations.put(key, { sku, qty });
    }
    return { reservationId: key };
  }

  async release(key: string): Promise<void> {
    await this.#hop();
    const held = this.#reservations.get(key);
    if (held !== undefined && this.#reservations.delete(key)) this.#stock += held.qty;
  }

  async charge(key: string, cents: number): Promise<{ readonly chargeId: string }> {
    await this.#hop();
    const charge = this.#charges.get(key) ?? this.#charges.put(key, { chargeId: `ch_${key}`, cents });
    return { chargeId: charge.chargeId };
  }

  async refund(key: string): Promise<void> {
    await this.#hop();
    this.#charges.delete(key);
  }

  async confirm(key: string, chargeId: string): Promise<{ readonly orderId: string }> {
    await this.#hop();
    if (chargeId.length === 0) throw new Error('no charge');
    this.#orders.get(key) ?? this.#orders.put(key, { confirmed: true });
    return { orderId: key };
  }

  async ship(key: string, sku: string): Promise<{ readonly trackingId: string }> {
    await this.#hop();
    const shipment = this.#shipments.get(key) ?? this.#shipments.put(key, { trackingId: `trk_${sku}_${key}` });
    return { trackingId: shipment.trackingId };
  }

  async notify(key: string, trackingId: string): Promise<void> {
    await this.#hop();
    this.#sent.get(key) ?? this.#sent.put(key, { to: trackingId });
  }
}

/** The 5-step checkout saga over `shop`: reserve → charge → (pivot) confirm → ship → notify. */
export function checkoutSaga(shop: Shop) {
  return defineSaga<CheckoutInput>('checkout')
    .step('reserve', {
      run: ({ input, idempotencyKey }) => shop.reserve(idempotencyKey, input.sku, input.qty),
      compensate: ({ idempotencyKey }) => shop.release(idempotencyKey),
    })
    .step('charge', {
      run: ({ input, idempotencyKey }) => shop.charge(idempotencyKey, input.cents),
      compensate: ({ idempotencyKey }) => shop.refund(idempotencyKey),
    })
    .pivot('confirm', { run: ({ outputs, idempotencyKey }) => shop.confirm(idempotencyKey, outputs.charge.chargeId) })
    .step('ship', { run: ({ input, idempotencyKey }) => shop.ship(idempotencyKey, input.sku) })
    .step('notify', { run: ({ outputs, idempotencyKey }) => shop.notify(idempotencyKey, outputs.ship.trackingId) })
    .build();
}
