/**
 * Checkout as a saga (the guide's order management flow: the user places an order, the order service
 * validates inventory and processes payment, the warehouse and logistics services are updated, the customer
 * is notified; with consistent payments, stock and confirmations, compensation when a payment fails, and
 * immutable logs for audit). Steps: reserve stock → charge payment → (pivot) confirm order → create shipment
 * → notify.
 *
 * 1. A declined card: the saga compensates, the reserved stock goes back on the shelf.
 * 2. A process that dies right after the charge went through: a new process opens the durable log and
 *    `recover()` finishes the order; the payment service sees the same idempotency key and does not charge
 *    twice. The audit trail and its hash-chain verification are printed.
 *
 * Services are simulated in memory, idempotent by key, as real ones must be.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from 'system-design-blocks';
import { defineSaga, FileSagaLog, SagaOrchestrator } from 'system-design-blocks/saga';
import { defineScenario } from './support/scenario.js';

interface OrderInput {
  readonly orderId: string;
  readonly customer: string;
  readonly sku: string;
  readonly qty: number;
  readonly cents: number;
  readonly card: string;
}

class DeclinedError extends Error {
  readonly code = 'E_CARD_DECLINED';
  constructor(card: string) {
    super(`card ${card} was declined`);
    this.name = 'DeclinedError';
  }
}

/** Stock per SKU; reservations by idempotency key. */
class Warehouse {
  readonly stock = new Map<string, number>([['kettle', 10]]);
  readonly #reservations = new Map<string, { sku: string; qty: number }>();

  async reserve(key: string, sku: string, qty: number): Promise<{ reservationId: string }> {
    if (!this.#reservations.has(key)) {
      const left = this.stock.get(sku) ?? 0;
      if (left < qty) throw new Error(`only ${left} ${sku} left`);
      this.stock.set(sku, left - qty);
      this.#reservations.set(key, { sku, qty });
    }
    return { reservationId: `res-${key}` };
  }

  async release(key: string): Promise<void> {
    const held = this.#reservations.get(key);
    if (held === undefined) return; // nothing was reserved under this key: a no-op
    this.#reservations.delete(key);
    this.stock.set(held.sku, (this.stock.get(held.sku) ?? 0) + held.qty);
  }
}

/** Charges by idempotency key: a repeated key returns the first charge. */
class Payments {
  readonly charges = new Map<string, { chargeId: string; cents: number; refunded: boolean }>();
  /** Set by the scenario: the process dies right after the next charge is made. */
  dieAfterCharge = false;
  #died: () => void = () => undefined;
  /** Resolves when the simulated process has died. */
  readonly died = new Promise<void>((resolve) => {
    this.#died = resolve;
  });

  async charge(key: string, card: string, cents: number): Promise<{ chargeId: string }> {
    if (card.endsWith('0002')) throw new DeclinedError(card);
    let charge = this.charges.get(key);
    if (charge === undefined) {
      charge = { chargeId: `ch_${this.charges.size + 1}`, cents, refunded: false };
      this.charges.set(key, charge);
    }
    if (this.dieAfterCharge) {
      this.dieAfterCharge = false;
      this.#died();
      return new Promise(() => undefined); // the process is gone: this call never returns
    }
    return { chargeId: charge.chargeId };
  }

  async refund(key: string): Promise<void> {
    const charge = this.charges.get(key);
    if (charge !== undefined) charge.refunded = true;
  }
}

/** Orders, shipments and notifications, each recorded once per key. */
class Backoffice {
  readonly confirmed = new Set<string>();
  readonly shipments = new Map<string, string>();
  readonly sent: string[] = [];
  readonly #sentKeys = new Set<string>();

  async confirm(key: string, orderId: string): Promise<{ orderId: string }> {
    this.confirmed.add(key);
    return { orderId };
  }

  async ship(key: string, sku: string): Promise<{ trackingId: string }> {
    if (!this.shipments.has(key)) this.shipments.set(key, `trk-${sku}-${this.shipments.size + 1}`);
    return { trackingId: this.shipments.get(key) as string };
  }

  async notify(key: string, customer: string, text: string): Promise<void> {
    if (this.#sentKeys.has(key)) return;
    this.#sentKeys.add(key);
    this.sent.push(`${customer}: ${text}`);
  }
}

function checkoutSaga(warehouse: Warehouse, payments: Payments, backoffice: Backoffice) {
  return defineSaga<OrderInput>('checkout')
    .step('reserveStock', {
      run: ({ input, idempotencyKey }) => warehouse.reserve(idempotencyKey, input.sku, input.qty),
      compensate: ({ idempotencyKey }) => warehouse.release(idempotencyKey),
    })
    .step('chargePayment', {
      run: ({ input, idempotencyKey }) => payments.charge(idempotencyKey, input.card, input.cents),
      compensate: ({ idempotencyKey }) => payments.refund(idempotencyKey),
      // A decline will not heal; anything else is worth two more tries.
      retry: { maxAttempts: 3, retryIf: (error) => !(error instanceof DeclinedError) },
    })
    .pivot('confirmOrder', { run: ({ input, idempotencyKey }) => backoffice.confirm(idempotencyKey, input.orderId) })
    .step('createShipment', { run: ({ input, idempotencyKey }) => backoffice.ship(idempotencyKey, input.sku) })
    .step('notifyCustomer', {
      run: ({ input, outputs, idempotencyKey }) =>
        backoffice.notify(
          idempotencyKey,
          input.customer,
          `order ${input.orderId} ships as ${outputs.createShipment.trackingId}`,
        ),
    })
    .build();
}

export const scenario = defineScenario(import.meta.url, {
  name: 'checkout-saga',
  title: 'Checkout saga: a declined card compensated, a crash after the charge recovered from the log',
  guide: 'Order management systems (transaction integrity, compensating transactions, audit logs); the order flow',
  blocks: ['saga'],
  async run({ log, check }) {
    const dir = mkdtempSync(join(tmpdir(), 'checkout-saga-'));
    const path = join(dir, 'sagas.jsonl');
    try {
      const warehouse = new Warehouse();
      const payments = new Payments();
      const backoffice = new Backoffice();
      const checkout = checkoutSaga(warehouse, payments, backoffice);
      const clock = new ManualClock();
      let now = Date.UTC(2026, 2, 1, 9, 0, 0);
      const timestamp = (): number => (now += 137);

      // 1. A declined card.
      const processA = await FileSagaLog.open(path, { clock });
      const orchestratorA = new SagaOrchestrator({ log: processA, clock, owner: 'checkout-a', timestamp });
      log('1) order-1001: 2 kettles, card ending 0002 (declined)');
      const declined = await orchestratorA.run(
        checkout,
        { orderId: 'order-1001', customer: 'ada', sku: 'kettle', qty: 2, cents: 5_998, card: '4000-0000-0000-0002' },
        { sagaId: 'order-1001' },
      );
      log(
        `   → ${declined.status}${declined.status === 'compensated' ? ` after ${declined.failedStep}: ${declined.failure.message}` : ''}`,
      );
      log(`   kettles on the shelf: ${warehouse.stock.get('kettle')} of 10`);
      check('a declined payment compensates the saga', declined.status === 'compensated');
      check('the reserved stock is released', warehouse.stock.get('kettle') === 10);
      check('nothing was confirmed or shipped', backoffice.confirmed.size === 0 && backoffice.shipments.size === 0);

      // 2. The process dies after the payment went through, before it could record it.
      log('2) order-1002: 1 kettle; the process dies right after the charge succeeds');
      payments.dieAfterCharge = true;
      void orchestratorA.run(
        checkout,
        { orderId: 'order-1002', customer: 'grace', sku: 'kettle', qty: 1, cents: 2_999, card: '4242-4242-4242-4242' },
        { sagaId: 'order-1002' },
      );
      await payments.died;
      await processA.close(); // the dead process's file handle goes away; its last step never reports back
      log(`   charges made: ${payments.charges.size}; order confirmed: ${backoffice.confirmed.size > 0}`);

      const processB = await FileSagaLog.open(path, { clock });
      const orchestratorB = new SagaOrchestrator({
        log: processB,
        clock,
        owner: 'checkout-b',
        sagas: [checkout],
        timestamp,
      });
      log(
        `   a new process opens the log: ${processB.opened.records} records, ${processB.opened.unfinished} unfinished saga`,
      );
      const report = await orchestratorB.recover();
      const recovered = report.results[0];
      log(`   recover() → ${recovered?.sagaId} ${recovered?.status}`);
      log(
        '   chargePayment ran again under its key order-1002:chargePayment; the payment service returned the first charge',
      );
      const charges = [...payments.charges.entries()].filter(([key]) => key.startsWith('order-1002'));
      check(
        'recover() completes the interrupted saga',
        recovered?.status === 'completed' && report.failed.length === 0,
      );
      check('the customer is charged exactly once', charges.length === 1, `${charges.length} charge(s)`);
      check(
        'stock, order, shipment and notification each happened once',
        warehouse.stock.get('kettle') === 9 &&
          backoffice.confirmed.size === 1 &&
          backoffice.shipments.size === 1 &&
          backoffice.sent.length === 1,
      );
      log(`   notification: ${backoffice.sent[0]}`);

      // 3. The audit trail of order-1002 and its hash chain.
      log('3) audit trail of order-1002 (each record carries the SHA-256 of the previous one):');
      const records = await processB.read('order-1002');
      for (const r of records) {
        const what = 'step' in r && r.type.startsWith('step') ? `${r.type} ${r.step}` : r.type;
        const attempt = 'attempt' in r ? ` #${r.attempt}` : '';
        log(
          `   ${String(r.seq).padStart(2)} ${new Date(r.at).toISOString().slice(11, 23)} ${r.owner.padEnd(10)} ${(what + attempt).padEnd(34)} prev ${r.prev.slice(0, 10)}… hash ${r.hash.slice(0, 10)}…`,
        );
      }
      const verdict = await orchestratorB.verifyLog('order-1002');
      log(
        `   verifyLog: ${verdict.ok ? `intact, ${verdict.records} records, head ${verdict.head.slice(0, 16)}…` : verdict.message}`,
      );
      check('the audit trail verifies', verdict.ok);
      check(
        'the interrupted charge step was re-run by the new process (attempt 2), not skipped',
        records.filter((r) => r.type === 'step_started' && r.step === 'chargePayment').length === 2 &&
          records.some((r) => r.type === 'step_completed' && r.step === 'chargePayment' && r.owner === 'checkout-b'),
      );
      await processB.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
