/**
 * The whole order flow of the guide's order management system: the user places an order → the order service
 * validates inventory and processes payment → the warehouse and logistics services are updated → the
 * customer is notified. Four blocks work together:
 *
 * - a **saga** drives each order: reserve stock → charge payment → (pivot) confirm order → commit stock →
 *   create shipment → notify, compensating before the pivot and recovering from its log after a crash;
 * - the **inventory** holds the cart (the reserve step's idempotency key is the reservation id), releases the
 *   hold as compensation and commits it after the pivot;
 * - the **idempotency** block charges exactly once per step key, through
 * - a **resilience** pipeline (retry around a circuit breaker) guarding the simulated payment gateway.
 *
 * 1. 160 checkouts over two order-service instances, with a 3-second gateway outage, sold-out items, declined
 *    cards and orders held for fraud review.
 * 2. A declined card: the saga compensates, the hold is released, nothing is charged.
 * 3. An instance dies right after the gateway charged one of its orders; a new instance runs `recover()` on
 *    the same log and every order in flight reaches a consistent end.
 * 4. One order submitted six times at once to two instances, again later, and again to an instance whose
 *    saga log never saw it: one charge, one hold.
 *
 * Everything runs on a ManualClock with simulated latency, so a minute of traffic takes about a second.
 */
import { type Clock, flushMicrotasks, ManualClock, seededRandom } from 'system-design-blocks';
import {
  createPaymentProcessor,
  isIdempotencyInProgressError,
  isPaymentDeclinedError,
  isPaymentGatewayTimeoutError,
  isPaymentGatewayUnavailableError,
  MemoryIdempotencyStore,
  type PaymentChargeRequest,
  type PaymentGateway,
  type PaymentGatewayOperation,
  PaymentGatewayUnavailableError,
  type PaymentProcessor,
  SimulatedGateway,
  type SimulatedGatewayFault,
} from 'system-design-blocks/idempotency';
import {
  checkInventoryInvariants,
  Inventory,
  isReservationNotFoundError,
  MemoryInventoryStore,
  type ReservationItem,
} from 'system-design-blocks/inventory';
import {
  CircuitBreaker,
  isCircuitOpenError,
  isRetryExhaustedError,
  pipeline,
  type ResiliencePolicy,
  retry,
} from 'system-design-blocks/resilience';
import {
  defineSaga,
  isSagaAlreadyExistsError,
  isSagaLeaseError,
  isSagaNotFoundError,
  MemorySagaLog,
  type SagaLog,
  SagaOrchestrator,
  type SagaOutputsOf,
  type SagaResult,
  type SagaStatus,
} from 'system-design-blocks/saga';
import { defineScenario } from './support/scenario.js';

const EPOCH = Date.UTC(2026, 2, 2, 9, 0, 0);
/** Holds outlive any payment here; the pivot still rereads the hold before the point of no return. */
const HOLD_TTL = 15 * 60_000;
/** Saga and payment leases: how long a dead instance blocks its orders before another may take them. */
const LEASE_MS = 10_000;
const GATEWAY_LATENCY_MS = 40;

type Sku = 'kettle' | 'toaster' | 'mug' | 'desk-lamp';
const PRICES: Readonly<Record<Sku, number>> = { kettle: 2_999, toaster: 4_999, mug: 899, 'desk-lamp': 3_499 };
const STOCK: readonly (readonly [Sku, string, number])[] = [
  ['kettle', 'incheon', 120],
  ['kettle', 'busan', 80],
  ['toaster', 'incheon', 150],
  ['mug', 'busan', 1_000],
  ['desk-lamp', 'incheon', 25], // sells out
];
const DECLINING_CARDS: Readonly<Record<string, string>> = {
  'customer-7': '4000 0000 0000 0002',
  'customer-23': '4000 0000 0000 9995',
};
const UNDER_REVIEW = new Set(['customer-13']);

/** What the storefront submits: the saga's input (JSON, recorded in the log). */
interface Order {
  readonly orderId: string;
  readonly customerId: string;
  readonly items: readonly ReservationItem[];
  readonly amount: number;
  readonly currency: string;
  readonly paymentMethod: string;
}

const NEVER: Promise<never> = new Promise(() => undefined);

/**
 * One order-service instance as an operating-system process. Everything it reaches outside itself (the saga
 * log, the stores, the gateway, the other services, its timers) goes through `connect` and `clock`, so
 * `kill()` stops it as a crash would: nothing more leaves it, nothing in flight comes back to it, its timers
 * (lease renewals, backoffs) never fire again. What it already wrote stays written.
 */
class SimulatedProcess {
  #alive = true;
  /** This process's view of time: `now` as everyone's, sleeps that never end once it is dead. */
  readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = { now: () => clock.now(), sleep: (ms, signal) => this.#gate(clock.sleep(ms, signal)) };
  }

  get alive(): boolean {
    return this.#alive;
  }

  kill(): void {
    this.#alive = false;
  }

  /** `target` as this process reaches it: async calls are cut off when the process dies. */
  connect<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (object, property) => {
        const value: unknown = Reflect.get(object, property);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          if (!this.#alive) return NEVER;
          const out: unknown = Reflect.apply(value, object, args);
          return out instanceof Promise ? this.#gate(out) : out;
        };
      },
    });
  }

  #gate<T>(promise: Promise<T>): Promise<T> {
    return promise.then(
      (value) => (this.#alive ? value : NEVER),
      (error: unknown) => (this.#alive ? Promise.reject(error) : NEVER),
    );
  }
}

class OrderRejectedError extends Error {
  readonly code = 'E_ORDER_REJECTED';
  constructor(orderId: string, reason: string) {
    super(`order ${orderId} rejected: ${reason}`);
    this.name = 'OrderRejectedError';
  }
}

class HoldLostError extends Error {
  readonly code = 'E_HOLD_LOST';
  constructor(reservationId: string, state: string) {
    super(`the hold ${reservationId} is ${state}, not held`);
    this.name = 'HoldLostError';
  }
}

/** The order records. Confirming is the saga's pivot; one confirmation per key, rejected under fraud review. */
class OrderDesk {
  readonly #confirmed = new Map<string, { readonly orderId: string; readonly orderNumber: string }>();
  constructor(readonly clock: Clock) {}

  async confirm(key: string, order: Order): Promise<{ orderNumber: string }> {
    await this.clock.sleep(10);
    const known = this.#confirmed.get(key);
    if (known !== undefined) return { orderNumber: known.orderNumber };
    if (UNDER_REVIEW.has(order.customerId)) throw new OrderRejectedError(order.orderId, 'held for fraud review');
    const orderNumber = `SO-${String(this.#confirmed.size + 1).padStart(5, '0')}`;
    this.#confirmed.set(key, { orderId: order.orderId, orderNumber });
    return { orderNumber };
  }

  confirmations(orderId: string): number {
    return [...this.#confirmed.values()].filter((c) => c.orderId === orderId).length;
  }
}

/** The logistics service: one shipment per key. */
class Logistics {
  readonly #shipments = new Map<string, { readonly orderId: string; readonly trackingId: string }>();
  constructor(readonly clock: Clock) {}

  async ship(key: string, orderId: string): Promise<{ trackingId: string }> {
    await this.clock.sleep(120);
    let shipment = this.#shipments.get(key);
    if (shipment === undefined) {
      shipment = { orderId, trackingId: `TRK-${String(this.#shipments.size + 1).padStart(5, '0')}` };
      this.#shipments.set(key, shipment);
    }
    return { trackingId: shipment.trackingId };
  }

  shipments(orderId: string): number {
    return [...this.#shipments.values()].filter((s) => s.orderId === orderId).length;
  }
}

/** The notification service: one message per key. */
class Notifier {
  readonly #sent = new Map<string, { readonly orderId: string; readonly text: string }>();
  constructor(readonly clock: Clock) {}

  async send(key: string, orderId: string, text: string): Promise<{ messageId: string }> {
    await this.clock.sleep(40);
    if (!this.#sent.has(key)) this.#sent.set(key, { orderId, text });
    return { messageId: `msg-${key}` };
  }

  messages(orderId: string): readonly string[] {
    return [...this.#sent.values()].filter((m) => m.orderId === orderId).map((m) => m.text);
  }
}

/** What a step of the checkout saga talks to, as seen from one instance. */
interface CheckoutServices {
  readonly inventory: Inventory;
  readonly payments: PaymentProcessor;
  readonly desk: OrderDesk;
  readonly logistics: Logistics;
  readonly notifier: Notifier;
  readonly random: () => number;
}

const isTransientGatewayError = (error: unknown): boolean =>
  isPaymentGatewayUnavailableError(error) || isPaymentGatewayTimeoutError(error);

/** Payment failures worth another attempt of the step: the gateway comes back, the other attempt finishes. */
const paymentMayRecover = (error: unknown): boolean =>
  isTransientGatewayError(error) || isIdempotencyInProgressError(error);

function chargeRequest(order: Order, idempotencyKey: string): PaymentChargeRequest {
  return {
    idempotencyKey,
    customerId: order.customerId,
    amount: order.amount,
    currency: order.currency,
    paymentMethod: order.paymentMethod,
    reference: order.orderId,
  };
}

/**
 * For a charge step that did not complete: the charge made under its key, if any. No record means no
 * attempt reached the payment service. Otherwise the same request under the same key replays the saved
 * outcome, or finishes an attempt that was cut short from its recovery point with the same gateway key, so a
 * charge that happened is found rather than made again.
 */
async function chargeMadeUnder(
  payments: PaymentProcessor,
  request: PaymentChargeRequest,
  signal: AbortSignal,
): Promise<string | undefined> {
  if ((await payments.inspect(request.customerId, request.idempotencyKey)) === undefined) return undefined;
  try {
    return (await payments.charge(request, { signal })).value.chargeId;
  } catch (error: unknown) {
    if (isPaymentDeclinedError(error)) return undefined;
    throw error;
  }
}

function checkoutSaga(s: CheckoutServices) {
  const backoff = { initial: 500, max: 4_000, random: s.random };
  return defineSaga<Order>('checkout', { compensationRetry: { maxAttempts: 10, backoff } })
    .step('reserveStock', {
      // The step's idempotency key is the reservation id: a retry, a recovery or a duplicate finds the same hold.
      run: async ({ input, idempotencyKey }) => {
        const hold = await s.inventory.reserve({ reservationId: idempotencyKey, items: input.items });
        return { reservationId: hold.id };
      },
      compensate: async ({ idempotencyKey }) => {
        try {
          await s.inventory.release(idempotencyKey);
        } catch (error: unknown) {
          if (!isReservationNotFoundError(error)) throw error; // never placed: nothing to give back
        }
      },
    })
    .step('chargePayment', {
      run: async ({ input, idempotencyKey, signal }) => {
        const receipt = await s.payments.charge(chargeRequest(input, idempotencyKey), { signal });
        return { chargeId: receipt.value.chargeId, amount: receipt.value.amount };
      },
      compensate: async (context) => {
        const { input, idempotencyKey, signal } = context;
        const chargeId = context.completed
          ? context.output.chargeId
          : await chargeMadeUnder(s.payments, chargeRequest(input, idempotencyKey), signal);
        if (chargeId === undefined) return;
        await s.payments.refund(
          { idempotencyKey: `${idempotencyKey}:refund`, customerId: input.customerId, chargeId, amount: input.amount },
          { signal },
        );
      },
      // A decline is the issuer's final answer; a gateway that is down (or behind an open breaker) may recover.
      retry: { maxAttempts: 12, backoff, retryIf: paymentMayRecover },
    })
    .pivot('confirmOrder', {
      run: async ({ input, outputs, idempotencyKey }) => {
        // Reread before the point of no return: the hold must still stand (a replay finds it committed).
        const hold = await s.inventory.reservation(outputs.reserveStock.reservationId);
        if (hold?.state === 'held') await s.inventory.extend(hold.id);
        else if (hold?.state !== 'confirmed') {
          throw new HoldLostError(outputs.reserveStock.reservationId, hold?.state ?? 'gone');
        }
        return s.desk.confirm(idempotencyKey, input);
      },
    })
    .step('commitStock', {
      run: async ({ outputs }) => {
        const committed = await s.inventory.confirm(outputs.reserveStock.reservationId);
        return { committedAt: committed.confirmedAt };
      },
    })
    .step('createShipment', {
      run: ({ input, idempotencyKey }) => s.logistics.ship(idempotencyKey, input.orderId),
    })
    .step('notifyCustomer', {
      run: ({ input, outputs, idempotencyKey }) =>
        s.notifier.send(
          idempotencyKey,
          input.orderId,
          `${input.customerId}: order ${outputs.confirmOrder.orderNumber} is confirmed and ships as ${outputs.createShipment.trackingId}`,
        ),
    })
    .build();
}

type CheckoutSaga = ReturnType<typeof checkoutSaga>;

/** What the order service answers a submission with. */
type Submission =
  | { readonly kind: 'ran'; readonly result: SagaResult<SagaOutputsOf<CheckoutSaga>> }
  /** The order exists: answered from the log, nothing runs again. */
  | { readonly kind: 'duplicate'; readonly status: SagaStatus }
  /** Another submission of the order is being driven right now (HTTP 409). */
  | { readonly kind: 'busy' };

/** The infrastructure every instance shares: the saga log, the stores, the gateway, the other services. */
class World {
  readonly clock = new ManualClock();
  readonly sagaLog = new MemorySagaLog({ clock: this.clock });
  readonly idempotencyStore = new MemoryIdempotencyStore({ clock: this.clock });
  readonly inventoryStore = new MemoryInventoryStore();
  /** The gateway is down (every call fails before charging) in this time window. */
  outage: { readonly from: number; readonly to: number } | undefined;
  readonly #faults = seededRandom(2026);
  readonly gateway = new SimulatedGateway({
    clock: this.clock,
    latency: GATEWAY_LATENCY_MS,
    fault: (): SimulatedGatewayFault => {
      const now = this.clock.now();
      if (this.outage !== undefined && now >= this.outage.from && now < this.outage.to) return 'unavailable';
      const r = this.#faults();
      return r < 0.03 ? 'unavailable' : r < 0.06 ? 'timeout' : 'none'; // a timeout charges, then loses the answer
    },
  });
  readonly desk = new OrderDesk(this.clock);
  readonly logistics = new Logistics(this.clock);
  readonly notifier = new Notifier(this.clock);
  /** The operators' view: restocks, sweeps, and the checks' reads of the stock and the log. */
  readonly inventory = new Inventory({ store: this.inventoryStore, clock: this.clock, holdTtl: HOLD_TTL });
  readonly auditor = new SagaOrchestrator({ log: this.sagaLog, clock: this.clock, owner: 'auditor' });
}

/** One instance of the order service: its own saga orchestrator, payment processor, breaker and retries. */
class OrderService {
  readonly process: SimulatedProcess;
  readonly orchestrator: SagaOrchestrator;
  readonly payments: PaymentProcessor;
  readonly breaker: CircuitBreaker;
  readonly checkout: CheckoutSaga;
  /** The scenario's crash: the instance dies the moment the gateway has charged this order. */
  crashAfterCharging: string | undefined;
  gatewayRetries = 0;
  breakerOpens = 0;
  /** Orders whose payment step failed and was attempted again by the saga. */
  readonly paymentStepRetried = new Set<string>();

  constructor(
    readonly name: string,
    world: World,
    options: { readonly seed: number; readonly log?: SagaLog },
  ) {
    const proc = new SimulatedProcess(world.clock);
    const clock = proc.clock;
    const random = seededRandom(options.seed);
    this.process = proc;

    // The gateway behind a breaker, each attempt retried with the same gateway key (safe: the gateway
    // deduplicates by key, so a timeout after the charge is found, not repeated).
    this.breaker = new CircuitBreaker({
      name: `payment-gateway@${name}`,
      failureThreshold: 50,
      minimumCalls: 10,
      window: 5_000,
      buckets: 5,
      resetAfter: { initial: 1_000, max: 4_000 },
      isFailure: isTransientGatewayError,
      clock,
    });
    this.breaker.onOpen(() => this.breakerOpens++);
    const retries = retry({
      maxAttempts: 3,
      backoff: { initial: 50, max: 400, random },
      retryIf: isTransientGatewayError,
      clock,
    });
    retries.onRetry(() => this.gatewayRetries++);
    const gateway: PaymentGateway = {
      charge: async (request, callOptions) => {
        const result = await world.gateway.charge(request, callOptions);
        if (request.reference === this.crashAfterCharging && result.status === 'succeeded') proc.kill();
        return result;
      },
      refund: (request, callOptions) => world.gateway.refund(request, callOptions),
    };
    let paymentIds = 0;
    this.payments = createPaymentProcessor({
      gateway: guardGateway(proc.connect(gateway), pipeline(retries, this.breaker)),
      store: proc.connect(world.idempotencyStore),
      clock,
      lease: LEASE_MS,
      gatewayAttempts: 1, // the resilience pipeline retries the gateway calls
      generateId: () => `${name}-${++paymentIds}`,
    });
    this.checkout = checkoutSaga({
      inventory: new Inventory({ store: proc.connect(world.inventoryStore), clock, holdTtl: HOLD_TTL }),
      payments: this.payments,
      desk: proc.connect(world.desk),
      logistics: proc.connect(world.logistics),
      notifier: proc.connect(world.notifier),
      random,
    });
    this.orchestrator = new SagaOrchestrator({
      log: proc.connect(options.log ?? world.sagaLog),
      clock,
      owner: name,
      leaseMs: LEASE_MS,
      sagas: [this.checkout],
      timestamp: () => EPOCH + clock.now(),
    });
    this.orchestrator.onStepFailed((failed) => {
      if (failed.step === 'chargePayment' && failed.retryInMs !== undefined) this.paymentStepRetried.add(failed.sagaId);
    });
  }

  /** Places an order: the order id is the saga id, so a resubmission never starts a second saga. */
  async submit(order: Order): Promise<Submission> {
    try {
      return { kind: 'ran', result: await this.orchestrator.run(this.checkout, order, { sagaId: order.orderId }) };
    } catch (error: unknown) {
      if (!isSagaAlreadyExistsError(error) && !isSagaLeaseError(error)) throw error;
      const snapshot = await this.orchestrator.status(order.orderId).catch((e: unknown) => {
        if (isSagaNotFoundError(e)) return undefined; // claimed, not yet written: the first one is starting
        throw e;
      });
      if (snapshot === undefined || snapshot.status === 'running' || snapshot.status === 'compensating') {
        return { kind: 'busy' };
      }
      return { kind: 'duplicate', status: snapshot.status };
    }
  }
}

/**
 * The gateway behind a resilience policy, keeping the error contract of `PaymentGateway` that the payment
 * processor relies on: a call the breaker refused never reached the gateway (unavailable: nothing charged);
 * attempts that all failed leave the outcome unknown if any of them timed out (it may have charged).
 */
function guardGateway(gateway: PaymentGateway, policy: ResiliencePolicy): PaymentGateway {
  const guarded = async <T>(
    operation: PaymentGatewayOperation,
    idempotencyKey: string,
    call: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> => {
    try {
      return await policy.execute((attempt) => call(attempt.signal), signal);
    } catch (error: unknown) {
      if (isCircuitOpenError(error)) {
        throw new PaymentGatewayUnavailableError({ operation, idempotencyKey }, { cause: error });
      }
      if (isRetryExhaustedError(error)) throw error.errors.find(isPaymentGatewayTimeoutError) ?? error.errors.at(-1);
      throw error;
    }
  };
  return {
    charge: (request, options) =>
      guarded('charge', request.idempotencyKey, (signal) => gateway.charge(request, { signal }), options?.signal),
    refund: (request, options) =>
      guarded('refund', request.idempotencyKey, (signal) => gateway.refund(request, { signal }), options?.signal),
  };
}

/** Runs simulated time until `work` settles. */
async function settle<T>(clock: ManualClock, work: Promise<T>): Promise<T> {
  let done = false;
  const watched = work.finally(() => {
    done = true;
  });
  watched.catch(() => undefined); // observed by the caller; not an unhandled rejection meanwhile
  while (!done) {
    await flushMicrotasks();
    if (done) break;
    if (!(await clock.runNext())) throw new Error('the simulation is stuck: nothing left to wake up');
  }
  return watched;
}

/** The storefront: customers, their tokenised cards, their carts. */
class Storefront {
  readonly #cards = new Map<string, string>();
  readonly #random = seededRandom(7);
  readonly orders = new Map<string, Order>();

  constructor(readonly gateway: SimulatedGateway) {}

  paymentMethod(customerId: string): string {
    let token = this.#cards.get(customerId);
    if (token === undefined) {
      const number = DECLINING_CARDS[customerId] ?? '4242 4242 4242 4242';
      token = this.gateway.createPaymentMethod({ number, expMonth: 12, expYear: 2030 });
      this.#cards.set(customerId, token);
    }
    return token;
  }

  /** A cart of 1–3 lines. */
  randomCart(): ReservationItem[] {
    const skus: readonly Sku[] = ['kettle', 'kettle', 'toaster', 'mug', 'mug', 'desk-lamp'];
    const lines = 1 + Math.floor(this.#random() * 3);
    return Array.from({ length: lines }, () => ({
      sku: skus[Math.floor(this.#random() * skus.length)] as Sku,
      qty: 1 + Math.floor(this.#random() * 2),
    }));
  }

  order(orderId: string, customerId: string, items: readonly ReservationItem[] = this.randomCart()): Order {
    const amount = items.reduce((sum, item) => sum + PRICES[item.sku as Sku] * item.qty, 0);
    const order: Order = {
      orderId,
      customerId,
      items,
      amount,
      currency: 'USD',
      paymentMethod: this.paymentMethod(customerId),
    };
    this.orders.set(orderId, order);
    return order;
  }
}

const money = (cents: number): string => `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`;
const units = (order: Order): number => order.items.reduce((sum, item) => sum + item.qty, 0);

export const scenario = defineScenario(import.meta.url, {
  name: 'checkout',
  title: 'Checkout end to end: holds, an exactly-once payment behind a breaker, a saga that compensates and recovers',
  guide:
    'Order management: the order flow (place the order → validate inventory and process the payment → ' +
    'update warehouse and logistics → notify)',
  blocks: ['saga', 'inventory', 'idempotency', 'resilience'],
  async run({ log, check }) {
    const world = new World();
    const { clock, gateway } = world;
    for (const [sku, location, qty] of STOCK) await world.inventory.restock(sku, qty, { location });
    const shop = new Storefront(gateway);
    const unexpected: unknown[] = [];

    // 1. Traffic over two instances behind a load balancer, with a gateway outage in the middle.
    const a = new OrderService('orders-a', world, { seed: 1 });
    const c = new OrderService('orders-c', world, { seed: 3 });
    const start = clock.now();
    world.outage = { from: start + 3_000, to: start + 6_000 };
    const batch = Array.from({ length: 160 }, (_, i) => shop.order(`order-${1001 + i}`, `customer-${(i * 7) % 50}`));
    const first = await settle(
      clock,
      Promise.all(batch.map((order, i) => clock.sleep(i * 60).then(() => (i % 2 === 0 ? a : c).submit(order)))),
    );
    const results = first.flatMap((s) => (s.kind === 'ran' ? [s.result] : []));
    const failedWith = (step: string, code: string): number =>
      results.filter((r) => r.status === 'compensated' && r.failedStep === step && r.failure.code === code).length;
    const completedFirst = results.filter((r) => r.status === 'completed').length;
    const caught = [...a.paymentStepRetried, ...c.paymentStepRetried];
    log(
      `1) ${batch.length} checkouts over orders-a and orders-c in ${((clock.now() - start) / 1000).toFixed(1)} simulated s; ` +
        `the gateway is down from 3 s to 6 s and fails ~6 % of calls otherwise (half of them after charging)`,
    );
    log(
      `   ${completedFirst} completed; compensated: ${failedWith('reserveStock', 'E_INSUFFICIENT_STOCK')} sold out, ` +
        `${failedWith('chargePayment', 'E_PAYMENT_DECLINED')} declined, ` +
        `${failedWith('confirmOrder', 'E_ORDER_REJECTED')} held for fraud review at the pivot (refunded)`,
    );
    log(
      `   gateway calls retried with the same key: ${a.gatewayRetries + c.gatewayRetries}; the breakers opened ` +
        `${a.breakerOpens + c.breakerOpens} times and refused ${a.breaker.stats().rejections + c.breaker.stats().rejections} calls at once; ` +
        `${caught.length} orders waited out the outage in their saga's payment retries`,
    );
    log(
      `   at the gateway: ${gateway.requestCount} requests, ${gateway.chargeCount} charges, ${gateway.refundCount} refunds`,
    );
    const businessFailures = new Set(['E_INSUFFICIENT_STOCK', 'E_PAYMENT_DECLINED', 'E_ORDER_REJECTED']);
    check(
      'every checkout finished, and none failed because of the outage (only sold out, declined or rejected)',
      results.length === batch.length &&
        results.every(
          (r) => r.status === 'completed' || (r.status === 'compensated' && businessFailures.has(r.failure.code ?? '')),
        ),
    );
    const caughtPaid = caught.filter((id) => results.find((r) => r.sagaId === id)?.status === 'completed').length;
    check(
      'the outage opened a breaker; the orders caught in it ended as without it (paid, unless declined or rejected)',
      a.breakerOpens + c.breakerOpens > 0 &&
        caught.length > 0 &&
        caught.every((id) => {
          const r = results.find((result) => result.sagaId === id);
          return (
            r?.status === 'completed' || (r?.status === 'compensated' && businessFailures.has(r.failure.code ?? ''))
          );
        }),
      `${caughtPaid} of ${caught.length} completed`,
    );

    // 2. A declined card, traced.
    const declined = batch.find((o) => o.customerId === 'customer-7') as Order;
    const declinedResult = results.find((r) => r.sagaId === declined.orderId);
    const declinedHold = await world.inventory.reservation(`${declined.orderId}:reserveStock`);
    const declinedCharges = gateway.charges().filter((ch) => ch.reference === declined.orderId);
    log(
      `2) ${declined.orderId} (${units(declined)} units, ${money(declined.amount)}) paid with a card the issuer declines:`,
    );
    log(
      `   → ${declinedResult?.status}${declinedResult?.status === 'compensated' ? ` after ${declinedResult.failedStep} (${declinedResult.failure.code})` : ''}; ` +
        `hold ${declinedHold?.state}; charges for it at the gateway: ${declinedCharges.length}`,
    );
    check(
      'a declined payment is compensated: the hold released, nothing charged',
      declinedResult?.status === 'compensated' &&
        declinedResult.failedStep === 'chargePayment' &&
        declinedHold?.state === 'released' &&
        declinedCharges.length === 0,
    );

    // 3. An instance dies right after the gateway charged one of its orders; a new one recovers from the log.
    const crashOrder = 'order-3006';
    a.crashAfterCharging = crashOrder;
    const inFlight = Array.from({ length: 12 }, (_, i) =>
      shop.order(`order-${3001 + i}`, `customer-${30 + i}`, [
        { sku: 'toaster', qty: 1 },
        { sku: 'mug', qty: 1 + (i % 3) },
      ]),
    );
    const answered = new Map<string, Submission>();
    const chargesBefore = gateway.chargeCount;
    for (const [i, order] of inFlight.entries()) {
      void clock
        .sleep(i * 25)
        .then(() => a.submit(order))
        .then(
          (submission) => answered.set(order.orderId, submission),
          (error: unknown) => unexpected.push(error),
        );
    }
    await settle(
      clock,
      (async () => {
        while (a.process.alive) await clock.sleep(10);
      })(),
    );
    const deadAt = clock.now();
    const unfinished = await world.sagaLog.listUnfinished();
    const stoodAt = new Map<string, number>();
    for (const id of unfinished) {
      const steps = [...(await world.auditor.status(id)).steps].reverse();
      const step = steps.find((s) => s.state !== 'pending')?.name ?? 'start';
      stoodAt.set(step, (stoodAt.get(step) ?? 0) + 1);
    }
    log(`3) orders-a takes 12 more orders, one every 25 ms, and dies right after the gateway charged ${crashOrder}:`);
    log(
      `   ${answered.size} answered, ${unfinished.length} sagas left unfinished in the log ` +
        `(${[...stoodAt].map(([step, n]) => `${n} in ${step}`).join(', ')}), ` +
        `${inFlight.length - answered.size - unfinished.length} never written (they reached a dead instance)`,
    );
    // A replacement starts once the dead instance's leases have run out.
    await settle(clock, clock.sleep(LEASE_MS + 5_000));
    const b = new OrderService('orders-b', world, { seed: 9 });
    const replaysBefore = gateway.replayCount;
    const report = await settle(clock, b.orchestrator.recover());
    log(
      `   orders-b starts ${((clock.now() - deadAt) / 1000).toFixed(0)} s later; recover(): ${report.results.length} driven to an end ` +
        `(${report.results.filter((r) => r.status === 'completed').length} completed, ` +
        `${report.results.filter((r) => r.status === 'compensated').length} compensated), ` +
        `${report.skipped.length} skipped, ${report.failed.length} failed; ` +
        `${gateway.replayCount - replaysBefore} gateway calls answered from the gateway's idempotency records`,
    );
    // Clients that never got an answer submit again.
    const retried = await settle(
      clock,
      Promise.all(inFlight.filter((o) => !answered.has(o.orderId)).map((o) => b.submit(o))),
    );
    log(
      `   ${retried.length} clients without an answer resubmit: ${retried.filter((r) => r.kind === 'duplicate').length} answered from the log, ` +
        `${retried.filter((r) => r.kind === 'ran').length} run afresh (never written before the crash)`,
    );
    const crashStatus = await world.auditor.status(crashOrder);
    const crashRecords = await world.sagaLog.read(crashOrder);
    const chargeAttempts = crashRecords.filter((r) => r.type === 'step_started' && r.step === 'chargePayment');
    const crashCharges = gateway.charges().filter((ch) => ch.reference === crashOrder);
    log(
      `   ${crashOrder}: ${crashStatus.status}; chargePayment started by ${chargeAttempts.map((r) => r.owner).join(' then ')}; ` +
        `charges for it: ${crashCharges.map((ch) => ch.chargeId).join(', ')}`,
    );
    const phaseCompleted = (await Promise.all(inFlight.map((o) => world.auditor.status(o.orderId)))).filter(
      (snapshot) => snapshot.status === 'completed',
    ).length;
    log(
      `   all in all: ${phaseCompleted} of ${inFlight.length} orders completed, ${gateway.chargeCount - chargesBefore} charges made`,
    );
    check(
      'recover() drove every unfinished saga of the dead instance to an end',
      unfinished.length > 0 && report.results.length === unfinished.length && report.failed.length === 0,
      `${report.results.length}/${unfinished.length}`,
    );
    check(
      'the order charged just before the crash completed with that one charge (its step re-run by orders-b)',
      crashStatus.status === 'completed' &&
        crashCharges.length === 1 &&
        chargeAttempts.length === 2 &&
        chargeAttempts[1]?.owner === 'orders-b',
    );
    check(
      'every order taken by the dead instance completed, each charged once',
      phaseCompleted === inFlight.length && gateway.chargeCount - chargesBefore === inFlight.length,
    );

    // 4. Duplicate submissions of one order: at once to two instances, later, and to a log that never saw it.
    const dup = shop.order('order-5001', 'customer-42', [
      { sku: 'toaster', qty: 1 },
      { sku: 'mug', qty: 4 },
    ]);
    const storm = await settle(clock, Promise.all([b, b, b, c, c, c].map((service) => service.submit(dup))));
    const later = await settle(clock, Promise.all([b.submit(dup), c.submit(dup), c.submit(declined)]));
    const forgetful = new OrderService('orders-d', world, { seed: 11, log: new MemorySagaLog({ clock }) });
    const again = await settle(clock, forgetful.submit(dup));
    const againCompleted = again.kind === 'ran' && again.result.status === 'completed';
    const dupCharges = gateway.charges().filter((ch) => ch.reference === dup.orderId).length;
    const dupHolds = (await world.inventory.snapshot()).reservations.filter((r) => r.id.startsWith(`${dup.orderId}:`));
    log(`4) ${dup.orderId} submitted 6 times at once to orders-b and orders-c:`);
    log(
      `   ${storm.filter((s) => s.kind === 'ran').length} ran, ${storm.filter((s) => s.kind === 'busy').length} told "in progress" (409), ` +
        `${storm.filter((s) => s.kind === 'duplicate').length} answered from the log`,
    );
    log(
      `   later: ${later.map((s) => (s.kind === 'duplicate' ? `duplicate (${s.status})` : s.kind)).join(', ')} ` +
        `(the last one is ${declined.orderId}, the declined order)`,
    );
    log(
      `   orders-d, whose saga log never saw it, runs it again: ${again.kind === 'ran' ? again.result.status : again.kind}, ` +
        `every step answered by its idempotency key; charges for it: ${dupCharges}, holds: ${dupHolds.length} (${dupHolds[0]?.state})`,
    );
    check(
      'concurrent duplicates: one saga ran, the others were refused while it ran',
      storm.filter((s) => s.kind === 'ran').length === 1 &&
        storm.every((s) => s.kind !== 'duplicate' || s.status === 'completed'),
    );
    check(
      'later duplicates were answered from the log without running anything',
      later.map((s) => (s.kind === 'duplicate' ? s.status : s.kind)).join() === 'completed,completed,compensated',
    );
    check(
      'a re-run with the same keys on a log that forgot the order charged and reserved nothing more',
      againCompleted && dupCharges === 1 && dupHolds.length === 1 && world.desk.confirmations(dup.orderId) === 1,
      `${dupCharges} charge(s), ${dupHolds.length} hold(s)`,
    );

    // The books: every order against the gateway, the stock, the log and the other services.
    check('no unexpected error reached a client', unexpected.length === 0, String(unexpected[0] ?? ''));
    const ids = [...shop.orders.keys()];
    const statuses = new Map<string, SagaStatus>();
    let chainsIntact = 0;
    for (const id of ids) {
      statuses.set(id, (await world.auditor.status(id)).status);
      if ((await world.auditor.verifyLog(id)).ok) chainsIntact++;
    }
    const completed = ids.filter((id) => statuses.get(id) === 'completed');
    const compensated = ids.filter((id) => statuses.get(id) === 'compensated');
    check(
      'every saga is terminal (completed or compensated) and the log has none unfinished',
      completed.length + compensated.length === ids.length && (await world.sagaLog.listUnfinished()).length === 0,
      `${completed.length} completed + ${compensated.length} compensated of ${ids.length}`,
    );
    check('verifyLog: every saga’s hash chain is intact', chainsIntact === ids.length, `${chainsIntact}/${ids.length}`);

    const liveCharges = gateway.charges().filter((ch) => ch.refunded < ch.amount);
    const chargedOrders = new Set(liveCharges.map((ch) => ch.reference));
    check(
      'charges at the gateway (net of refunds) == paid orders, one each',
      liveCharges.length === completed.length && completed.every((id) => chargedOrders.has(id)),
      `${liveCharges.length} charges kept, ${completed.length} orders paid, ${gateway.refundCount} refunded`,
    );

    let heldOrCommitted = 0;
    let held = 0;
    for (const sku of Object.keys(PRICES)) {
      const stock = await world.inventory.availability(sku);
      heldOrCommitted += stock.held + stock.committed;
      held += stock.held;
    }
    const soldUnits = completed.reduce((sum, id) => sum + units(shop.orders.get(id) as Order), 0);
    check(
      'units held + committed == units in the carts of completed orders',
      heldOrCommitted === soldUnits,
      `${heldOrCommitted} held or committed, ${soldUnits} ordered`,
    );
    check(
      'shipped and notified exactly once per completed order, never for a compensated one',
      completed.every((id) => world.logistics.shipments(id) === 1 && world.notifier.messages(id).length === 1) &&
        compensated.every((id) => world.logistics.shipments(id) === 0 && world.notifier.messages(id).length === 0),
    );

    await settle(clock, clock.sleep(HOLD_TTL));
    const sweep = await world.inventory.sweepExpired();
    const snapshot = await world.inventory.snapshot();
    check(
      'no stock leaked: after a sweep past every TTL nothing is held, and no hold had to expire',
      held === 0 && sweep.expired.length === 0 && snapshot.reservations.every((r) => r.state !== 'held'),
      `${held} held, ${sweep.expired.length} expired`,
    );
    const violations = checkInventoryInvariants(snapshot);
    check('checkInventoryInvariants: no violation', violations.length === 0, violations[0]?.message);
    log(
      `books: ${ids.length} orders, ${completed.length} paid (${money(liveCharges.reduce((sum, ch) => sum + ch.amount, 0))}), ` +
        `${soldUnits} units committed, ${compensated.length} compensated; ${((clock.now() - start) / 60_000).toFixed(1)} simulated minutes`,
    );
    log(`${crashOrder}'s notification: ${world.notifier.messages(crashOrder)[0]}`);
  },
});
