/**
 * The payment gateway seen by the processor, its errors, and {@link SimulatedGateway}: an in-process gateway
 * that honours its own idempotency keys and injects the faults that make payments hard.
 */
import {
  type Clock,
  errorGuard,
  SystemDesignError,
  type SystemDesignErrorOptions,
  systemClock,
  throwIfAborted,
} from '../core/index.js';
import {
  assertFunction,
  assertNonEmptyString,
  assertNumberInRange,
  assertObject,
  assertOptionalSignal,
  assertPositiveInteger,
  invalid,
  optionsObject,
} from '../core/validation.js';

/** The displayable part of a card: never the full number. */
export interface PaymentCardSummary {
  /** Card network, e.g. `visa`. */
  readonly brand: string;
  /** Last four digits. */
  readonly last4: string;
}

/** A charge as sent to the gateway. */
export interface PaymentGatewayChargeRequest {
  /** The gateway-level idempotency key: the same key always means the same charge. */
  readonly idempotencyKey: string;
  /** Amount in minor units (cents), a positive integer. */
  readonly amount: number;
  /** ISO 4217 currency code, e.g. `USD`. */
  readonly currency: string;
  /** A payment method token issued by the gateway (never a card number). */
  readonly paymentMethod: string;
  /** The merchant's reference (order id), for reconciliation. */
  readonly reference?: string;
  /** Free-form merchant data. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The gateway's answer to a charge, as a discriminated union on `status`. */
export type PaymentGatewayChargeResult =
  | {
      /** Money moved. */
      readonly status: 'succeeded';
      /** The gateway's charge id. */
      readonly chargeId: string;
      /** Amount charged, minor units. */
      readonly amount: number;
      /** Currency charged. */
      readonly currency: string;
      /** The card charged, when the gateway knows it. */
      readonly card?: PaymentCardSummary;
    }
  | {
      /** The issuer refused: a final answer, nothing moved. */
      readonly status: 'declined';
      /** The gateway's id of the declined attempt. */
      readonly chargeId: string;
      /** Machine-readable reason, e.g. `insufficient_funds`. */
      readonly declineCode: string;
      /** Human-readable reason. */
      readonly message: string;
    };

/** A refund as sent to the gateway. */
export interface PaymentGatewayRefundRequest {
  /** The gateway-level idempotency key. */
  readonly idempotencyKey: string;
  /** The charge to refund. */
  readonly chargeId: string;
  /** Amount to refund, minor units. */
  readonly amount: number;
}

/** The gateway's answer to a refund. */
export interface PaymentGatewayRefundResult {
  /** Money went back. */
  readonly status: 'succeeded';
  /** The gateway's refund id. */
  readonly refundId: string;
  /** The refunded charge. */
  readonly chargeId: string;
  /** Amount refunded, minor units. */
  readonly amount: number;
}

/** Per-call options of a {@link PaymentGateway}. */
export interface PaymentGatewayCallOptions {
  /** Abandons the call (the gateway may still have acted). */
  readonly signal?: AbortSignal;
}

/**
 * A payment gateway that honours idempotency keys: a repeated key returns the first result and moves no
 * money again. Errors: {@link PaymentGatewayUnavailableError} (nothing happened),
 * {@link PaymentGatewayTimeoutError} (unknown), {@link PaymentGatewayRejectedError} (a final refusal).
 * Wrap any real gateway (or a breaker-guarded one) in this interface.
 */
export interface PaymentGateway {
  /** Charges a payment method. */
  charge(
    request: PaymentGatewayChargeRequest,
    options?: PaymentGatewayCallOptions,
  ): Promise<PaymentGatewayChargeResult>;
  /** Refunds (part of) a charge. */
  refund(
    request: PaymentGatewayRefundRequest,
    options?: PaymentGatewayCallOptions,
  ): Promise<PaymentGatewayRefundResult>;
}

/** The gateway operations. */
export type PaymentGatewayOperation = 'charge' | 'refund';

/**
 * The gateway did not process the request: nothing was charged (`E_PAYMENT_GATEWAY_UNAVAILABLE`). Safe to
 * retry with the same idempotency key.
 */
export class PaymentGatewayUnavailableError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_PAYMENT_GATEWAY_UNAVAILABLE';
  /** The operation attempted. */
  readonly operation: PaymentGatewayOperation;
  /** The gateway-level idempotency key of the request. */
  readonly idempotencyKey: string;

  constructor(
    details: { operation: PaymentGatewayOperation; idempotencyKey: string },
    options?: SystemDesignErrorOptions,
  ) {
    super(PaymentGatewayUnavailableError.code, `The payment gateway is unavailable (${details.operation})`, options);
    this.operation = details.operation;
    this.idempotencyKey = details.idempotencyKey;
  }
}

/** True when `error` is a {@link PaymentGatewayUnavailableError} from any copy of the package. */
export const isPaymentGatewayUnavailableError: (error: unknown) => error is PaymentGatewayUnavailableError =
  errorGuard<PaymentGatewayUnavailableError>(PaymentGatewayUnavailableError.code);

/**
 * No response came back: the gateway may or may not have acted (`E_PAYMENT_GATEWAY_TIMEOUT`). Only a retry
 * with the same idempotency key finds out without risking a second charge.
 */
export class PaymentGatewayTimeoutError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_PAYMENT_GATEWAY_TIMEOUT';
  /** The operation attempted. */
  readonly operation: PaymentGatewayOperation;
  /** The gateway-level idempotency key of the request. */
  readonly idempotencyKey: string;

  constructor(
    details: { operation: PaymentGatewayOperation; idempotencyKey: string },
    options?: SystemDesignErrorOptions,
  ) {
    super(PaymentGatewayTimeoutError.code, `The payment gateway did not answer (${details.operation})`, options);
    this.operation = details.operation;
    this.idempotencyKey = details.idempotencyKey;
  }
}

/** True when `error` is a {@link PaymentGatewayTimeoutError} from any copy of the package. */
export const isPaymentGatewayTimeoutError: (error: unknown) => error is PaymentGatewayTimeoutError =
  errorGuard<PaymentGatewayTimeoutError>(PaymentGatewayTimeoutError.code);

/** Why a gateway refused a request for good. */
export type PaymentGatewayRejection =
  | 'idempotency_key_reused'
  | 'unknown_payment_method'
  | 'unknown_charge'
  | 'refund_exceeds_charge';

/** The gateway refused the request for good; retrying will not help (`E_PAYMENT_GATEWAY_REJECTED`). */
export class PaymentGatewayRejectedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_PAYMENT_GATEWAY_REJECTED';
  /** The operation attempted. */
  readonly operation: PaymentGatewayOperation;
  /** The gateway-level idempotency key of the request. */
  readonly idempotencyKey: string;
  /** Why. */
  readonly reason: PaymentGatewayRejection;

  constructor(
    details: { operation: PaymentGatewayOperation; idempotencyKey: string; reason: PaymentGatewayRejection },
    options?: SystemDesignErrorOptions,
  ) {
    super(
      PaymentGatewayRejectedError.code,
      `The payment gateway rejected the ${details.operation}: ${details.reason}`,
      options,
    );
    this.operation = details.operation;
    this.idempotencyKey = details.idempotencyKey;
    this.reason = details.reason;
  }
}

/** True when `error` is a {@link PaymentGatewayRejectedError} from any copy of the package. */
export const isPaymentGatewayRejectedError: (error: unknown) => error is PaymentGatewayRejectedError =
  errorGuard<PaymentGatewayRejectedError>(PaymentGatewayRejectedError.code);

/** A fault the {@link SimulatedGateway} injects into one call. */
export type SimulatedGatewayFault =
  /** Process normally. */
  | 'none'
  /** Decline a new charge (no effect on refunds or replays). */
  | 'decline'
  /** Fail before doing anything: {@link PaymentGatewayUnavailableError}. */
  | 'unavailable'
  /** Do the work, then lose the response: {@link PaymentGatewayTimeoutError}. */
  | 'timeout';

/** One call as the {@link SimulatedGateway}'s `fault` and `latency` functions see it. */
export interface SimulatedGatewayCall {
  /** Which operation. */
  readonly operation: PaymentGatewayOperation;
  /** The request's gateway-level idempotency key. */
  readonly idempotencyKey: string;
  /** 1 for the first call with this key, 2 for the second, … */
  readonly attempt: number;
  /** The merchant reference of a charge. */
  readonly reference: string | undefined;
}

/** Options of {@link SimulatedGateway}. Rates are probabilities in [0, 1]; durations in ms. */
export interface SimulatedGatewayOptions {
  /** Clock the latency is spent on. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Time to process a call, and again to answer it, in ms. @defaultValue 0 */
  readonly latency?: number | ((call: SimulatedGatewayCall) => number);
  /** Share of new charges declined. @defaultValue 0 */
  readonly declineRate?: number;
  /** Share of calls failing before any effect. @defaultValue 0 */
  readonly unavailableRate?: number;
  /** Share of calls whose response is lost after the effect. @defaultValue 0 */
  readonly timeoutRate?: number;
  /** Uniform numbers in [0, 1) for the rates; inject a seeded one for reproducible runs. @defaultValue Math.random */
  readonly random?: () => number;
  /** Chooses each call's fault, overriding the rates (scripted tests). @defaultValue undefined (use the rates) */
  readonly fault?: (call: SimulatedGatewayCall) => SimulatedGatewayFault;
}

/** A card to tokenise with {@link SimulatedGateway.createPaymentMethod}. */
export interface SimulatedCard {
  /** Card number (PAN), digits with optional spaces. */
  readonly number: string;
  /** Expiry month, 1–12. */
  readonly expMonth: number;
  /** Expiry year, four digits. */
  readonly expYear: number;
}

/** A charge that moved money in the {@link SimulatedGateway}. */
export interface SimulatedCharge {
  /** Charge id. */
  readonly chargeId: string;
  /** The gateway-level idempotency key it was made with. */
  readonly idempotencyKey: string;
  /** Amount, minor units. */
  readonly amount: number;
  /** Currency. */
  readonly currency: string;
  /** Payment method token. */
  readonly paymentMethod: string;
  /** Merchant reference. */
  readonly reference: string | undefined;
  /** Amount refunded so far. */
  readonly refunded: number;
}

/** Card numbers that always decline, as payment processors' test cards do. */
const DECLINING_CARDS = new Map([
  ['4000000000000002', 'card_declined'],
  ['4000000000009995', 'insufficient_funds'],
]);

interface StoredResult {
  readonly fingerprint: string;
  readonly result: PaymentGatewayChargeResult | PaymentGatewayRefundResult;
}

interface Vaulted {
  readonly card: PaymentCardSummary;
  readonly declineCode: string | undefined;
}

function checkRate(value: number | undefined, argument: string): number {
  const rate = value ?? 0;
  assertNumberInRange(rate, argument, 0, 1);
  return rate;
}

function brandOf(digits: string): string {
  if (digits.startsWith('4')) return 'visa';
  if (/^5[1-5]/.test(digits)) return 'mastercard';
  if (/^3[47]/.test(digits)) return 'amex';
  return 'card';
}

/**
 * An in-process payment gateway for examples and tests. It keeps its own idempotency keys (a repeated key
 * with the same parameters returns the first result; with other parameters it is rejected), spends an
 * injectable latency on the clock, and injects declines, failures before the charge and timeouts after it.
 * It counts the charges that really moved money, which is what a double-charge test needs.
 *
 * @example
 * ```ts
 * import { SimulatedGateway } from 'system-design-blocks/idempotency';
 *
 * const gateway = new SimulatedGateway({ timeoutRate: 1 }); // every response is lost
 * const paymentMethod = gateway.createPaymentMethod({ number: '4242 4242 4242 4242', expMonth: 12, expYear: 2030 });
 * const request = { idempotencyKey: 'pay-1:charge', amount: 1_000, currency: 'USD', paymentMethod };
 * await gateway.charge(request).catch(() => {}); // timed out, but charged
 * await gateway.charge(request).catch(() => {}); // the same key: found, not charged again
 * console.log(gateway.chargeCount); // 1
 * ```
 */
export class SimulatedGateway implements PaymentGateway {
  readonly #clock: Clock;
  readonly #latency: (call: SimulatedGatewayCall) => number;
  readonly #declineRate: number;
  readonly #unavailableRate: number;
  readonly #timeoutRate: number;
  readonly #random: () => number;
  readonly #fault: ((call: SimulatedGatewayCall) => SimulatedGatewayFault) | undefined;
  readonly #keys = new Map<string, StoredResult>();
  readonly #attempts = new Map<string, number>();
  readonly #vault = new Map<string, Vaulted>();
  readonly #charges = new Map<string, SimulatedCharge>();
  #nextId = 1;
  #requests = 0;
  #declines = 0;
  #refunds = 0;
  #replays = 0;

  /**
   * @param options - Latency, fault rates, clock; validated here.
   * @throws `ValidationError` on a bad option.
   */
  constructor(options?: SimulatedGatewayOptions) {
    const o = optionsObject(options, 'options');
    this.#clock = o.clock ?? systemClock;
    assertObject(this.#clock, 'options.clock');
    assertFunction(this.#clock.sleep, 'options.clock.sleep');
    const latency = o.latency ?? 0;
    if (typeof latency === 'function') {
      this.#latency = latency;
    } else {
      assertNumberInRange(latency, 'options.latency', 0, Number.MAX_SAFE_INTEGER);
      this.#latency = () => latency;
    }
    this.#declineRate = checkRate(o.declineRate, 'options.declineRate');
    this.#unavailableRate = checkRate(o.unavailableRate, 'options.unavailableRate');
    this.#timeoutRate = checkRate(o.timeoutRate, 'options.timeoutRate');
    this.#random = o.random ?? Math.random;
    assertFunction(this.#random, 'options.random');
    if (o.fault !== undefined) assertFunction(o.fault, 'options.fault');
    this.#fault = o.fault;
  }

  /** Charges that moved money (successful, distinct). */
  get chargeCount(): number {
    return this.#charges.size;
  }

  /** Charges declined (distinct). */
  get declineCount(): number {
    return this.#declines;
  }

  /** Refunds that moved money (distinct). */
  get refundCount(): number {
    return this.#refunds;
  }

  /** Calls received, whatever their fate. */
  get requestCount(): number {
    return this.#requests;
  }

  /** Calls answered from a stored idempotency key (no money moved). */
  get replayCount(): number {
    return this.#replays;
  }

  /** Snapshot of every charge that moved money, oldest first. */
  charges(): readonly SimulatedCharge[] {
    return [...this.#charges.values()].map((c) => ({ ...c }));
  }

  /**
   * Tokenises a card, as a gateway's client-side library does so the card number never reaches the merchant.
   * The test numbers `4000 0000 0000 0002` and `4000 0000 0000 9995` always decline.
   *
   * @param card - The card.
   * @returns A payment method token (`pm_…`).
   * @throws `ValidationError` for a malformed card.
   */
  createPaymentMethod(card: SimulatedCard): string {
    assertObject(card, 'card');
    // Never echo a card number into an error message (and from there into logs).
    const digits = typeof card.number === 'string' ? card.number.replace(/[ -]/g, '') : '';
    if (!/^\d{12,19}$/.test(digits)) invalid('card.number', 'a string of 12 to 19 digits', '[redacted]');
    assertNumberInRange(card.expMonth, 'card.expMonth', 1, 12);
    assertNumberInRange(card.expYear, 'card.expYear', 2000, 9999);
    const token = `pm_${String(this.#nextId++).padStart(6, '0')}`;
    this.#vault.set(token, {
      card: Object.freeze({ brand: brandOf(digits), last4: digits.slice(-4) }),
      declineCode: DECLINING_CARDS.get(digits),
    });
    return token;
  }

  /**
   * Charges `request.paymentMethod`. A key seen before returns the stored result without charging again.
   *
   * @throws {@link PaymentGatewayUnavailableError} when failing before the charge.
   * @throws {@link PaymentGatewayTimeoutError} when the response is lost (the charge may have happened).
   * @throws {@link PaymentGatewayRejectedError} for a reused key with other parameters.
   * @throws `ValidationError` for a malformed request.
   */
  async charge(
    request: PaymentGatewayChargeRequest,
    options?: PaymentGatewayCallOptions,
  ): Promise<PaymentGatewayChargeResult> {
    assertObject(request, 'request');
    assertNonEmptyString(request.idempotencyKey, 'request.idempotencyKey');
    assertPositiveInteger(request.amount, 'request.amount');
    if (typeof request.currency !== 'string' || !/^[A-Z]{3}$/.test(request.currency)) {
      invalid('request.currency', 'an ISO 4217 code such as "USD"', request.currency);
    }
    assertNonEmptyString(request.paymentMethod, 'request.paymentMethod');
    const fingerprint = `charge|${request.amount}|${request.currency}|${request.paymentMethod}`;
    return this.#call('charge', request.idempotencyKey, request.reference, fingerprint, options, (call, fault) => {
      const id = `ch_${String(this.#nextId++).padStart(6, '0')}`;
      const vaulted = this.#vault.get(request.paymentMethod);
      const declineCode = vaulted?.declineCode ?? (fault === 'decline' ? 'card_declined' : undefined);
      if (declineCode !== undefined) {
        this.#declines++;
        return {
          status: 'declined',
          chargeId: id,
          declineCode,
          message: `The card was declined (${declineCode})`,
        };
      }
      this.#charges.set(id, {
        chargeId: id,
        idempotencyKey: call.idempotencyKey,
        amount: request.amount,
        currency: request.currency,
        paymentMethod: request.paymentMethod,
        reference: request.reference,
        refunded: 0,
      });
      return {
        status: 'succeeded',
        chargeId: id,
        amount: request.amount,
        currency: request.currency,
        ...(vaulted === undefined ? {} : { card: vaulted.card }),
      };
    });
  }

  /**
   * Refunds (part of) a charge. A key seen before returns the stored result without refunding again.
   *
   * @throws {@link PaymentGatewayUnavailableError} when failing before the refund.
   * @throws {@link PaymentGatewayTimeoutError} when the response is lost (the refund may have happened).
   * @throws {@link PaymentGatewayRejectedError} for an unknown charge, an amount above what is left, or a reused key.
   * @throws `ValidationError` for a malformed request.
   */
  async refund(
    request: PaymentGatewayRefundRequest,
    options?: PaymentGatewayCallOptions,
  ): Promise<PaymentGatewayRefundResult> {
    assertObject(request, 'request');
    assertNonEmptyString(request.idempotencyKey, 'request.idempotencyKey');
    assertNonEmptyString(request.chargeId, 'request.chargeId');
    assertPositiveInteger(request.amount, 'request.amount');
    const fingerprint = `refund|${request.chargeId}|${request.amount}`;
    return this.#call('refund', request.idempotencyKey, undefined, fingerprint, options, (call) => {
      const charge = this.#charges.get(request.chargeId);
      if (charge === undefined) {
        throw new PaymentGatewayRejectedError({
          operation: 'refund',
          idempotencyKey: call.idempotencyKey,
          reason: 'unknown_charge',
        });
      }
      if (charge.refunded + request.amount > charge.amount) {
        throw new PaymentGatewayRejectedError({
          operation: 'refund',
          idempotencyKey: call.idempotencyKey,
          reason: 'refund_exceeds_charge',
        });
      }
      this.#charges.set(charge.chargeId, { ...charge, refunded: charge.refunded + request.amount });
      this.#refunds++;
      return {
        status: 'succeeded',
        refundId: `re_${String(this.#nextId++).padStart(6, '0')}`,
        chargeId: charge.chargeId,
        amount: request.amount,
      };
    });
  }

  async #call<R extends PaymentGatewayChargeResult | PaymentGatewayRefundResult>(
    operation: PaymentGatewayOperation,
    idempotencyKey: string,
    reference: string | undefined,
    fingerprint: string,
    options: PaymentGatewayCallOptions | undefined,
    process: (call: SimulatedGatewayCall, fault: SimulatedGatewayFault) => R,
  ): Promise<R> {
    const signal = optionsObject(options, 'options').signal;
    assertOptionalSignal(signal, 'options.signal');
    throwIfAborted(signal);
    this.#requests++;
    const attempt = (this.#attempts.get(idempotencyKey) ?? 0) + 1;
    this.#attempts.set(idempotencyKey, attempt);
    const call: SimulatedGatewayCall = { operation, idempotencyKey, attempt, reference };
    const fault = this.#chooseFault(call);
    const latency = this.#latency(call);
    if (latency > 0) await this.#clock.sleep(latency, signal);
    if (fault === 'unavailable') throw new PaymentGatewayUnavailableError({ operation, idempotencyKey });

    // From here to the stored result nothing awaits: the key is checked and claimed atomically.
    let result: R;
    const seen = this.#keys.get(idempotencyKey);
    if (seen !== undefined) {
      if (seen.fingerprint !== fingerprint) {
        throw new PaymentGatewayRejectedError({ operation, idempotencyKey, reason: 'idempotency_key_reused' });
      }
      this.#replays++;
      result = seen.result as R;
    } else {
      if (operation === 'charge') this.#checkPaymentMethod(fingerprint, idempotencyKey);
      result = process(call, fault);
      this.#keys.set(idempotencyKey, { fingerprint, result });
    }
    if (fault === 'timeout') {
      if (latency > 0) await this.#clock.sleep(latency);
      throw new PaymentGatewayTimeoutError({ operation, idempotencyKey });
    }
    if (latency > 0) await this.#clock.sleep(latency, signal);
    return { ...result };
  }

  #checkPaymentMethod(fingerprint: string, idempotencyKey: string): void {
    const token = fingerprint.slice(fingerprint.lastIndexOf('|') + 1);
    if (token.startsWith('pm_') && !this.#vault.has(token)) {
      throw new PaymentGatewayRejectedError({ operation: 'charge', idempotencyKey, reason: 'unknown_payment_method' });
    }
  }

  #chooseFault(call: SimulatedGatewayCall): SimulatedGatewayFault {
    if (this.#fault !== undefined) return this.#fault(call);
    const r = this.#random();
    if (r < this.#unavailableRate) return 'unavailable';
    if (r < this.#unavailableRate + this.#timeoutRate) return 'timeout';
    if (call.operation === 'charge' && this.#random() < this.#declineRate) return 'decline';
    return 'none';
  }
}
