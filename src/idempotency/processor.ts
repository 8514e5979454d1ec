/**
 * Exactly-once charges and refunds: an idempotency key per client request, recovery points around the one
 * external effect (started → charge requested → charge recorded → finished), and a gateway-level idempotency
 * key derived from the local record, so a charge whose response was lost is found again, never repeated.
 */
import { randomUUID } from 'node:crypto';
import {
  Backoff,
  type BackoffOptions,
  type Clock,
  Emitter,
  errorGuard,
  type JsonValue,
  type Subscribe,
  SystemDesignError,
  type SystemDesignErrorOptions,
  sha256Hex,
  systemClock,
  throwIfAborted,
} from '../core/index.js';
import {
  assertFunction,
  assertNonEmptyString,
  assertObject,
  assertOptionalSignal,
  assertPositiveInteger,
  invalid,
  optionsObject,
} from '../core/validation.js';
import { IdempotencyStoreError, isIdempotencyInProgressError } from './errors.js';
import {
  isPaymentGatewayRejectedError,
  isPaymentGatewayTimeoutError,
  isPaymentGatewayUnavailableError,
  type PaymentCardSummary,
  type PaymentGateway,
  type PaymentGatewayChargeResult,
  type PaymentGatewayRefundResult,
} from './gateway.js';
import {
  DEFAULT_IDEMPOTENCY_LEASE,
  DEFAULT_IDEMPOTENCY_RETENTION,
  type IdempotencyContext,
  IdempotencyEngine,
  type IdempotencyEvent,
  type IdempotencyInProgressPolicy,
  type IdempotentCallOptions,
  type IdempotentResult,
  isReplayedError,
} from './idempotent.js';
import { redactCardNumbers } from './redact.js';
import type { IdempotencyOutcome, IdempotencyRecord, IdempotencyStore } from './store.js';

/** The merchant's free-form data on a payment: what {@link PaymentProcessorOptions.redact} rewrites. */
export interface PaymentMerchantData {
  /** The merchant's reference (order id). */
  readonly reference?: string;
  /** Free-form merchant data. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A charge as a client submits it. */
export interface PaymentChargeRequest {
  /** The client's idempotency key: the same key is the same payment, whatever the retries. */
  readonly idempotencyKey: string;
  /** The paying customer; keys are scoped to it. */
  readonly customerId: string;
  /** Amount in minor units (cents), a positive integer. */
  readonly amount: number;
  /** ISO 4217 currency code, e.g. `USD`. */
  readonly currency: string;
  /** A gateway payment method token (`pm_…`); card numbers are refused, they must never reach the server. */
  readonly paymentMethod: string;
  /** The merchant's reference (order id). */
  readonly reference?: string;
  /** Free-form merchant data, passed to the gateway. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A refund as a client submits it. */
export interface PaymentRefundRequest {
  /** The client's idempotency key. */
  readonly idempotencyKey: string;
  /** The customer; keys are scoped to it. */
  readonly customerId: string;
  /** The gateway charge to refund (from a {@link PaymentChargeReceipt}). */
  readonly chargeId: string;
  /** Amount to refund, minor units. */
  readonly amount: number;
  /** The merchant's reference. */
  readonly reference?: string;
  /** Free-form merchant data. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A successful charge. */
export interface PaymentChargeReceipt {
  /** Discriminant. */
  readonly kind: 'charge';
  /** The local payment id (fixed at the `started` recovery point). */
  readonly paymentId: string;
  /** Always `succeeded` (a decline is a {@link PaymentDeclinedError}). */
  readonly status: 'succeeded';
  /** The customer. */
  readonly customerId: string;
  /** Amount charged, minor units. */
  readonly amount: number;
  /** Currency. */
  readonly currency: string;
  /** The gateway's charge id. */
  readonly chargeId: string;
  /** The card charged, when the gateway said. */
  readonly card?: PaymentCardSummary;
  /** The merchant's reference. */
  readonly reference?: string;
  /** Merchant data. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A successful refund. */
export interface PaymentRefundReceipt {
  /** Discriminant. */
  readonly kind: 'refund';
  /** The local id of the refund. */
  readonly paymentId: string;
  /** Always `succeeded`. */
  readonly status: 'succeeded';
  /** The customer. */
  readonly customerId: string;
  /** Amount refunded, minor units. */
  readonly amount: number;
  /** The refunded charge. */
  readonly chargeId: string;
  /** The gateway's refund id. */
  readonly refundId: string;
  /** The merchant's reference. */
  readonly reference?: string;
  /** Merchant data. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * The card was declined (`E_PAYMENT_DECLINED`, HTTP 402): a final answer, saved and replayed to every retry
 * with the same key. Nothing was charged; a new attempt needs a new key.
 */
export class PaymentDeclinedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_PAYMENT_DECLINED';
  /** The HTTP status an API answers with. */
  readonly httpStatus = 402;
  /** The local payment id. */
  readonly paymentId: string;
  /** The customer. */
  readonly customerId: string;
  /** The gateway's id of the declined attempt. */
  readonly chargeId: string;
  /** Machine-readable reason from the gateway. */
  readonly declineCode: string;

  constructor(
    details: { paymentId: string; customerId: string; chargeId: string; declineCode: string },
    options?: SystemDesignErrorOptions,
  ) {
    super(PaymentDeclinedError.code, `Payment ${details.paymentId} was declined (${details.declineCode})`, options);
    this.paymentId = details.paymentId;
    this.customerId = details.customerId;
    this.chargeId = details.chargeId;
    this.declineCode = details.declineCode;
  }
}

/** True when `error` is a {@link PaymentDeclinedError} (fresh or replayed) from any copy of the package. */
export const isPaymentDeclinedError: (error: unknown) => error is PaymentDeclinedError =
  errorGuard<PaymentDeclinedError>(PaymentDeclinedError.code);

/** A saved recovery point of a payment; `finished` means the outcome is saved. */
export type PaymentRecoveryPoint =
  | 'started'
  | 'charge_requested'
  | 'charge_recorded'
  | 'refund_requested'
  | 'refund_recorded'
  | 'finished';

/** A payment reached a recovery point. */
export interface PaymentPhaseEvent {
  /** Charge or refund. */
  readonly kind: 'charge' | 'refund';
  /** The local payment id. */
  readonly paymentId: string;
  /** The customer. */
  readonly customerId: string;
  /** The client's idempotency key. */
  readonly idempotencyKey: string;
  /** The recovery point just saved. */
  readonly phase: PaymentRecoveryPoint;
}

/** Options of {@link createPaymentProcessor}. Durations in ms. */
export interface PaymentProcessorOptions {
  /** The gateway charges and refunds go through; it must honour idempotency keys. */
  readonly gateway: PaymentGateway;
  /** Where idempotency records and recovery points are kept. */
  readonly store: IdempotencyStore;
  /** Clock for leases, retries and waits. @defaultValue systemClock */
  readonly clock?: Clock;
  /** How long outcomes are replayed, in ms. @defaultValue 86_400_000 (24 h) */
  readonly retention?: number;
  /** How long a run holds a key before another worker may take it over, in ms. @defaultValue 30_000 */
  readonly lease?: number;
  /** A duplicate while the first request runs: reject with HTTP 409 or wait. @defaultValue 'reject' */
  readonly onInProgress?: IdempotencyInProgressPolicy;
  /** With `onInProgress: 'wait'`, the longest wait, in ms. @defaultValue 10_000 */
  readonly waitTimeout?: number;
  /**
   * Rewrites the merchant's free-form data (`reference`, `metadata`) before it is written at rest, in recovery
   * points and saved receipts. Ids, keys and tokens the processor owns are never passed to it, so a redaction
   * can never change a gateway key.
   * @defaultValue {@link redactCardNumbers}
   */
  readonly redact?: (data: PaymentMerchantData) => PaymentMerchantData;
  /** Prefix of the store scopes (`${scopePrefix}${customerId}`), so a sweep finds only payments. @defaultValue 'payments/' */
  readonly scopePrefix?: string;
  /** Gateway calls per run, retrying unavailability and timeouts with the same gateway key. @defaultValue 3 */
  readonly gatewayAttempts?: number;
  /** Delays between gateway attempts. @defaultValue \{ initial: 100, max: 2_000, jitter: 'full' \} */
  readonly gatewayBackoff?: BackoffOptions;
  /** Runs per unfinished payment in one {@link PaymentProcessor.complete} sweep. @defaultValue 5 */
  readonly sweepAttempts?: number;
  /** Payments a sweep drives at the same time. @defaultValue 16 */
  readonly sweepConcurrency?: number;
  /** Makes the unique part of local payment ids. @defaultValue crypto.randomUUID */
  readonly generateId?: () => string;
}

/** Options of {@link PaymentProcessor.complete}. */
export interface PaymentSweepOptions {
  /** Stops the sweep. */
  readonly signal?: AbortSignal;
  /** At most this many unfinished payments. @defaultValue no limit */
  readonly limit?: number;
}

/** A payment a sweep could not finish. */
export interface PaymentSweepFailure {
  /** Store scope of the record. */
  readonly scope: string;
  /** The client's idempotency key. */
  readonly key: string;
  /** The last error. */
  readonly error: unknown;
}

/** What a {@link PaymentProcessor.complete} sweep did. */
export interface PaymentSweepReport {
  /** Unfinished payments looked at. */
  readonly examined: number;
  /** Driven to a saved outcome: charged or refunded, declined or rejected. */
  readonly finished: number;
  /** Never started (no gateway call made): the key was freed. */
  readonly discarded: number;
  /** Skipped: a live lease, another worker is on it. */
  readonly busy: number;
  /** Still unfinished after every attempt (a gateway down); run the sweep again later. */
  readonly unresolved: readonly PaymentSweepFailure[];
}

interface ChargeProgress {
  readonly v: 1;
  readonly kind: 'charge';
  readonly phase: 'started' | 'charge_requested' | 'charge_recorded';
  readonly paymentId: string;
  readonly gatewayKey: string;
  readonly customerId: string;
  readonly amount: number;
  readonly currency: string;
  readonly paymentMethod: string;
  readonly reference?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly result?: PaymentGatewayChargeResult;
}

interface RefundProgress {
  readonly v: 1;
  readonly kind: 'refund';
  readonly phase: 'started' | 'refund_requested' | 'refund_recorded';
  readonly paymentId: string;
  readonly gatewayKey: string;
  readonly customerId: string;
  readonly chargeId: string;
  readonly amount: number;
  readonly reference?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly result?: PaymentGatewayRefundResult;
}

type Progress = ChargeProgress | RefundProgress;

const CHARGE_PHASES = ['started', 'charge_requested', 'charge_recorded'];
const REFUND_PHASES = ['started', 'refund_requested', 'refund_recorded'];

function readProgress(progress: JsonValue | undefined): Progress | undefined {
  if (progress === undefined) return undefined;
  const p = progress as Partial<Record<string, unknown>>;
  const ok =
    typeof p === 'object' &&
    p !== null &&
    p.v === 1 &&
    typeof p.paymentId === 'string' &&
    typeof p.gatewayKey === 'string' &&
    typeof p.customerId === 'string' &&
    typeof p.amount === 'number' &&
    ((p.kind === 'charge' && CHARGE_PHASES.includes(p.phase as string)) ||
      (p.kind === 'refund' && REFUND_PHASES.includes(p.phase as string)));
  if (!ok) invalid('record.progress', 'a payment recovery point', progress);
  return p as unknown as Progress;
}

function looksLikeCardNumber(value: string): boolean {
  return /^[\d -]{12,}$/.test(value) && value.replace(/[ -]/g, '').length >= 12;
}

function checkMetadata(metadata: unknown, argument: string): void {
  if (metadata === undefined) return;
  assertObject(metadata, argument);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') invalid(`${argument}.${k}`, 'a string', v);
  }
}

/**
 * SHA-256 of the payment's fields in a fixed order (metadata sorted by key): canonical by construction, and
 * cheaper than a general canonical JSON walk on the hot path.
 */
function fingerprintOf(
  fields: readonly (string | number | undefined)[],
  metadata: Readonly<Record<string, string>> | undefined,
): string {
  const entries =
    metadata === undefined ? null : Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256Hex(JSON.stringify([...fields.map((f) => f ?? null), entries]));
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Charges and refunds exactly once per client idempotency key, through any {@link PaymentGateway} that honours
 * its own idempotency keys. Each payment passes recovery points saved in the store (started → charge
 * requested → charge recorded → finished); the gateway key is fixed at `started`, so a retry, a takeover after
 * an expired lease, or the {@link PaymentProcessor.complete} sweep asks the gateway again with the same key and
 * finds the first charge instead of making a second one. Build it with {@link createPaymentProcessor}.
 */
export class PaymentProcessor {
  readonly #gateway: PaymentGateway;
  readonly #store: IdempotencyStore;
  readonly #clock: Clock;
  readonly #lease: number;
  readonly #retention: number;
  readonly #redact: (data: PaymentMerchantData) => PaymentMerchantData;
  readonly #prefix: string;
  readonly #gatewayAttempts: number;
  readonly #gatewayBackoff: Backoff;
  readonly #sweepAttempts: number;
  readonly #sweepConcurrency: number;
  readonly #generateId: () => string;
  readonly #charges: IdempotencyEngine<PaymentChargeRequest, PaymentChargeReceipt>;
  readonly #refunds: IdempotencyEngine<PaymentRefundRequest, PaymentRefundReceipt>;
  readonly #phases = new Emitter<PaymentPhaseEvent>();
  readonly #events = new Emitter<IdempotencyEvent>();
  /** Subscribes to recovery points reached; returns a disposable. */
  readonly onPhase: Subscribe<PaymentPhaseEvent> = this.#phases.subscribe;
  /** Subscribes to the idempotency events of charges and refunds; returns a disposable. */
  readonly onEvent: Subscribe<IdempotencyEvent> = this.#events.subscribe;

  /**
   * @param options - Gateway, store and policies; validated here.
   * @throws `ValidationError` on a bad option.
   */
  constructor(options: PaymentProcessorOptions) {
    assertObject(options, 'options');
    const o = optionsObject(options, 'options');
    assertObject(o.gateway, 'options.gateway');
    assertFunction(o.gateway.charge, 'options.gateway.charge');
    assertFunction(o.gateway.refund, 'options.gateway.refund');
    assertObject(o.store, 'options.store');
    assertFunction(o.store.listUnfinished, 'options.store.listUnfinished');
    this.#gateway = o.gateway;
    this.#store = o.store;
    this.#clock = o.clock ?? systemClock;
    this.#lease = o.lease ?? DEFAULT_IDEMPOTENCY_LEASE;
    this.#retention = o.retention ?? DEFAULT_IDEMPOTENCY_RETENTION;
    this.#redact = o.redact ?? redactCardNumbers;
    assertFunction(this.#redact, 'options.redact');
    this.#prefix = o.scopePrefix ?? 'payments/';
    if (typeof this.#prefix !== 'string') invalid('options.scopePrefix', 'a string', this.#prefix);
    this.#gatewayAttempts = o.gatewayAttempts ?? 3;
    assertPositiveInteger(this.#gatewayAttempts, 'options.gatewayAttempts');
    this.#gatewayBackoff = new Backoff(
      o.gatewayBackoff ?? { initial: 100, max: 2_000, jitter: 'full' },
      'options.gatewayBackoff',
    );
    this.#sweepAttempts = o.sweepAttempts ?? 5;
    assertPositiveInteger(this.#sweepAttempts, 'options.sweepAttempts');
    this.#sweepConcurrency = o.sweepConcurrency ?? 16;
    assertPositiveInteger(this.#sweepConcurrency, 'options.sweepConcurrency');
    this.#generateId = o.generateId ?? randomUUID;
    assertFunction(this.#generateId, 'options.generateId');

    const redactOutcome = (outcome: IdempotencyOutcome): IdempotencyOutcome =>
      outcome.type === 'value' && typeof outcome.value === 'object' && outcome.value !== null
        ? {
            type: 'value',
            value: this.#redactMerchantData(outcome.value as unknown as PaymentMerchantData) as JsonValue,
          }
        : outcome;
    const isTerminalError = (error: unknown): boolean =>
      isPaymentDeclinedError(error) || isPaymentGatewayRejectedError(error);
    const common = {
      store: o.store,
      retention: this.#retention,
      lease: this.#lease,
      isTerminalError,
      redact: redactOutcome,
      clock: this.#clock,
      ...optional('onInProgress', o.onInProgress),
      ...optional('waitTimeout', o.waitTimeout),
    };
    this.#charges = new IdempotencyEngine<PaymentChargeRequest, PaymentChargeReceipt>(
      (request, context) => this.#runCharge(request, context),
      {
        ...common,
        key: (r) => r.idempotencyKey,
        scope: (r) => `${this.#prefix}${r.customerId}`,
        fingerprint: (r) =>
          fingerprintOf(['charge', r.customerId, r.amount, r.currency, r.paymentMethod, r.reference], r.metadata),
      },
    );
    this.#refunds = new IdempotencyEngine<PaymentRefundRequest, PaymentRefundReceipt>(
      (request, context) => this.#runRefund(request, context),
      {
        ...common,
        key: (r) => r.idempotencyKey,
        scope: (r) => `${this.#prefix}${r.customerId}`,
        fingerprint: (r) => fingerprintOf(['refund', r.customerId, r.chargeId, r.amount, r.reference], r.metadata),
      },
    );
    const forward = (event: IdempotencyEvent): void => this.#events.emit(event);
    this.#charges.onEvent(forward);
    this.#refunds.onEvent(forward);
  }

  /**
   * Charges once per (customer, idempotency key). A retry with the same key returns the saved receipt
   * (`replayed: true`) or rethrows the saved decline.
   *
   * @throws `ValidationError` for a malformed request (including a card number as `paymentMethod`).
   * @throws {@link PaymentDeclinedError} when the card was declined (saved and replayed).
   * @throws {@link PaymentGatewayRejectedError} when the gateway refused for good (saved and replayed).
   * @throws {@link IdempotencyInProgressError} while another run holds the key (HTTP 409).
   * @throws {@link IdempotencyKeyReusedError} when the key was used for a different payment (HTTP 422).
   * @throws {@link PaymentGatewayUnavailableError} or {@link PaymentGatewayTimeoutError} when the gateway
   * could not be reached after every attempt: retry with the same key.
   * @throws {@link IdempotencyStoreError} when the store failed: retry with the same key.
   * @example
   * ```ts
   * import { createPaymentProcessor, MemoryIdempotencyStore, SimulatedGateway } from 'system-design-blocks/idempotency';
   *
   * const gateway = new SimulatedGateway();
   * const payments = createPaymentProcessor({ gateway, store: new MemoryIdempotencyStore() });
   * const paymentMethod = gateway.createPaymentMethod({ number: '4242424242424242', expMonth: 1, expYear: 2031 });
   * const request = { idempotencyKey: 'order-7', customerId: 'c-1', amount: 2_500, currency: 'USD', paymentMethod };
   * const first = await payments.charge(request);
   * const retry = await payments.charge(request);
   * console.log(first.value.chargeId === retry.value.chargeId, retry.replayed, gateway.chargeCount); // true true 1
   * ```
   */
  async charge(
    request: PaymentChargeRequest,
    options?: IdempotentCallOptions,
  ): Promise<IdempotentResult<PaymentChargeReceipt>> {
    assertObject(request, 'request');
    assertNonEmptyString(request.customerId, 'request.customerId');
    assertPositiveInteger(request.amount, 'request.amount');
    if (typeof request.currency !== 'string' || !/^[A-Z]{3}$/.test(request.currency)) {
      invalid('request.currency', 'an ISO 4217 code such as "USD"', request.currency);
    }
    assertNonEmptyString(request.paymentMethod, 'request.paymentMethod');
    if (looksLikeCardNumber(request.paymentMethod)) {
      invalid('request.paymentMethod', 'a payment method token, not a card number', '[redacted]');
    }
    if (request.reference !== undefined) assertNonEmptyString(request.reference, 'request.reference');
    checkMetadata(request.metadata, 'request.metadata');
    return this.#run('charge', request, options);
  }

  /**
   * Refunds once per (customer, idempotency key).
   *
   * @throws `ValidationError` for a malformed request.
   * @throws {@link PaymentGatewayRejectedError} for an unknown charge or an amount above what is left (saved and replayed).
   * @throws {@link IdempotencyInProgressError}, {@link IdempotencyKeyReusedError}, {@link IdempotencyStoreError},
   * {@link PaymentGatewayUnavailableError} or {@link PaymentGatewayTimeoutError}: as for {@link PaymentProcessor.charge}.
   * @example
   * ```ts
   * import { createPaymentProcessor, MemoryIdempotencyStore, SimulatedGateway } from 'system-design-blocks/idempotency';
   *
   * const gateway = new SimulatedGateway();
   * const payments = createPaymentProcessor({ gateway, store: new MemoryIdempotencyStore() });
   * const paymentMethod = gateway.createPaymentMethod({ number: '4242424242424242', expMonth: 1, expYear: 2031 });
   * const charge = await payments.charge({ idempotencyKey: 'o-1', customerId: 'c-1', amount: 900, currency: 'EUR', paymentMethod });
   * const refund = await payments.refund({ idempotencyKey: 'r-1', customerId: 'c-1', chargeId: charge.value.chargeId, amount: 300 });
   * console.log(refund.value.amount, gateway.refundCount); // 300 1
   * ```
   */
  async refund(
    request: PaymentRefundRequest,
    options?: IdempotentCallOptions,
  ): Promise<IdempotentResult<PaymentRefundReceipt>> {
    assertObject(request, 'request');
    assertNonEmptyString(request.customerId, 'request.customerId');
    assertNonEmptyString(request.chargeId, 'request.chargeId');
    assertPositiveInteger(request.amount, 'request.amount');
    if (request.reference !== undefined) assertNonEmptyString(request.reference, 'request.reference');
    checkMetadata(request.metadata, 'request.metadata');
    return this.#run('refund', request, options);
  }

  /**
   * The stored record of a payment (as redacted at rest), or `undefined`.
   *
   * @param customerId - The customer.
   * @param idempotencyKey - The client's key.
   */
  inspect(customerId: string, idempotencyKey: string): Promise<IdempotencyRecord | undefined> {
    assertNonEmptyString(customerId, 'customerId');
    assertNonEmptyString(idempotencyKey, 'idempotencyKey');
    return this.#store.get({ scope: `${this.#prefix}${customerId}`, key: idempotencyKey });
  }

  /**
   * The recovery sweep: drives every unfinished payment whose lease has expired to a terminal state, resuming
   * each from its last recovery point with the same gateway key (a charge that happened is found, not
   * repeated). Payments that never reached `started` made no gateway call and are discarded. Run it at
   * start-up and periodically (Brandur Leach's "completer").
   *
   * @param options - Signal and limit.
   * @throws {@link IdempotencyStoreError} when the store cannot list unfinished payments.
   * @throws The signal's reason when aborted.
   * @example
   * ```ts
   * import { createPaymentProcessor, MemoryIdempotencyStore, SimulatedGateway } from 'system-design-blocks/idempotency';
   *
   * const payments = createPaymentProcessor({ gateway: new SimulatedGateway(), store: new MemoryIdempotencyStore() });
   * const report = await payments.complete();
   * console.log(report.examined, report.unresolved.length); // 0 0
   * ```
   */
  async complete(options?: PaymentSweepOptions): Promise<PaymentSweepReport> {
    const o = optionsObject(options, 'options');
    assertOptionalSignal(o.signal, 'options.signal');
    if (o.limit !== undefined) assertPositiveInteger(o.limit, 'options.limit');
    const signal = o.signal;
    throwIfAborted(signal);
    let records: readonly IdempotencyRecord[];
    try {
      records = await this.#store.listUnfinished({ scopePrefix: this.#prefix, ...optional('limit', o.limit) });
    } catch (error: unknown) {
      throw new IdempotencyStoreError({ operation: 'listUnfinished', scope: this.#prefix, key: '*' }, { cause: error });
    }
    let finished = 0;
    let discarded = 0;
    let busy = 0;
    const unresolved: PaymentSweepFailure[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < records.length) {
        throwIfAborted(signal);
        const record = records[next++] as IdempotencyRecord;
        const result = await this.#sweepOne(record, signal);
        if (result === 'finished') finished++;
        else if (result === 'discarded') discarded++;
        else if (result === 'busy') busy++;
        else unresolved.push({ scope: record.scope, key: record.key, error: result.error });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#sweepConcurrency, records.length) }, worker));
    return { examined: records.length, finished, discarded, busy, unresolved };
  }

  #run(
    kind: 'charge',
    request: PaymentChargeRequest,
    options: IdempotentCallOptions | undefined,
    overrides?: { fingerprint: string; reject: boolean },
  ): Promise<IdempotentResult<PaymentChargeReceipt>>;
  #run(
    kind: 'refund',
    request: PaymentRefundRequest,
    options: IdempotentCallOptions | undefined,
    overrides?: { fingerprint: string; reject: boolean },
  ): Promise<IdempotentResult<PaymentRefundReceipt>>;
  async #run(
    kind: 'charge' | 'refund',
    request: PaymentChargeRequest | PaymentRefundRequest,
    options: IdempotentCallOptions | undefined,
    overrides?: { fingerprint: string; reject: boolean },
  ): Promise<IdempotentResult<PaymentChargeReceipt | PaymentRefundReceipt>> {
    const finished = (paymentId: string): void =>
      this.#phases.emit({
        kind,
        paymentId,
        customerId: request.customerId,
        idempotencyKey: request.idempotencyKey,
        phase: 'finished',
      });
    try {
      const result =
        kind === 'charge'
          ? await this.#charges.run(request as PaymentChargeRequest, options, overrides)
          : await this.#refunds.run(request as PaymentRefundRequest, options, overrides);
      if (!result.replayed) finished(result.value.paymentId);
      return result;
    } catch (error: unknown) {
      if (isPaymentDeclinedError(error) && !isReplayedError(error)) finished(error.paymentId);
      throw error;
    }
  }

  async #sweepOne(
    record: IdempotencyRecord,
    signal: AbortSignal | undefined,
  ): Promise<'finished' | 'discarded' | 'busy' | { error: unknown }> {
    if (record.state !== 'in_progress') return 'finished';
    let progress: Progress | undefined;
    try {
      progress = readProgress(record.progress);
    } catch (error: unknown) {
      return { error };
    }
    if (progress === undefined) return this.#discard(record);
    const schedule = this.#gatewayBackoff.start();
    let last: unknown;
    for (let attempt = 1; attempt <= this.#sweepAttempts; attempt++) {
      try {
        const overrides = { fingerprint: record.fingerprint, reject: true };
        if (progress.kind === 'charge') {
          await this.#run(
            'charge',
            {
              idempotencyKey: record.key,
              customerId: progress.customerId,
              amount: progress.amount,
              currency: progress.currency,
              paymentMethod: progress.paymentMethod,
            },
            { ...optional('signal', signal) },
            overrides,
          );
        } else {
          await this.#run(
            'refund',
            {
              idempotencyKey: record.key,
              customerId: progress.customerId,
              chargeId: progress.chargeId,
              amount: progress.amount,
            },
            { ...optional('signal', signal) },
            overrides,
          );
        }
        return 'finished';
      } catch (error: unknown) {
        if (isPaymentDeclinedError(error) || isPaymentGatewayRejectedError(error)) return 'finished';
        if (isIdempotencyInProgressError(error)) return 'busy';
        throwIfAborted(signal);
        last = error;
        if (attempt < this.#sweepAttempts) await this.#clock.sleep(schedule.next(), signal);
      }
    }
    return { error: last };
  }

  async #discard(record: IdempotencyRecord): Promise<'discarded' | 'busy' | 'finished' | { error: unknown }> {
    try {
      const begun = await this.#store.begin({
        scope: record.scope,
        key: record.key,
        fingerprint: record.fingerprint,
        leaseMs: this.#lease,
        retentionMs: this.#retention,
      });
      if (begun.status === 'in_progress') return 'busy';
      if (begun.status !== 'acquired') return 'finished';
      if (begun.progress !== undefined) {
        // Progress appeared since the listing: leave it for the next sweep rather than guess.
        await this.#store.release({ scope: record.scope, key: record.key, token: begun.token });
        return 'busy';
      }
      await this.#store.release({ scope: record.scope, key: record.key, token: begun.token });
      return 'discarded';
    } catch (error: unknown) {
      return { error };
    }
  }

  /** Passes only `reference` and `metadata` through the redact hook; every other field is kept as it is. */
  #redactMerchantData<T extends PaymentMerchantData>(document: T): T {
    if (document.reference === undefined && document.metadata === undefined) return document;
    const data = this.#redact({
      ...optional('reference', document.reference),
      ...optional('metadata', document.metadata),
    });
    const { reference: _reference, metadata: _metadata, ...owned } = document;
    return {
      ...owned,
      ...optional('reference', data?.reference),
      ...optional('metadata', data?.metadata),
    } as T;
  }

  async #save(context: IdempotencyContext, progress: Progress, announce = true): Promise<void> {
    await context.checkpoint(this.#redactMerchantData(progress) as unknown as JsonValue);
    if (announce) {
      this.#phases.emit({
        kind: progress.kind,
        paymentId: progress.paymentId,
        customerId: progress.customerId,
        idempotencyKey: context.key,
        phase: progress.phase,
      });
    }
  }

  /** Calls the gateway with the same key until it answers, renewing the lease between attempts. */
  async #callGateway<R>(
    context: IdempotencyContext,
    progress: Progress,
    call: (signal: AbortSignal | undefined) => Promise<R>,
  ): Promise<R> {
    const schedule = this.#gatewayBackoff.start();
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(context.signal);
      } catch (error: unknown) {
        const transient = isPaymentGatewayUnavailableError(error) || isPaymentGatewayTimeoutError(error);
        if (!transient || attempt >= this.#gatewayAttempts) throw error;
      }
      await this.#clock.sleep(schedule.next(), context.signal);
      await this.#save(context, progress, false);
    }
  }

  async #runCharge(request: PaymentChargeRequest, context: IdempotencyContext): Promise<PaymentChargeReceipt> {
    let p = readProgress(context.progress) as ChargeProgress | undefined;
    if (p !== undefined && p.kind !== 'charge') invalid('record.progress', 'a charge recovery point', p);
    if (p === undefined) {
      const paymentId = `pay_${this.#generateId()}`;
      p = {
        v: 1,
        kind: 'charge',
        phase: 'started',
        paymentId,
        gatewayKey: `${paymentId}:charge`,
        customerId: request.customerId,
        amount: request.amount,
        currency: request.currency,
        paymentMethod: request.paymentMethod,
        ...optional('reference', request.reference),
        ...optional('metadata', request.metadata),
      };
      await this.#save(context, p);
    }
    if (p.phase === 'started') {
      p = { ...p, phase: 'charge_requested' };
      await this.#save(context, p);
    }
    if (p.phase === 'charge_requested') {
      const at: ChargeProgress = p;
      const result = await this.#callGateway(context, at, (signal) =>
        this.#gateway.charge(
          {
            idempotencyKey: at.gatewayKey,
            amount: at.amount,
            currency: at.currency,
            paymentMethod: at.paymentMethod,
            ...optional('reference', at.reference),
            ...optional('metadata', at.metadata),
          },
          { ...optional('signal', signal) },
        ),
      );
      p = { ...at, phase: 'charge_recorded', result };
      await this.#save(context, p);
    }
    const result = p.result as PaymentGatewayChargeResult;
    if (result.status === 'declined') {
      throw new PaymentDeclinedError({
        paymentId: p.paymentId,
        customerId: p.customerId,
        chargeId: result.chargeId,
        declineCode: result.declineCode,
      });
    }
    return {
      kind: 'charge',
      paymentId: p.paymentId,
      status: 'succeeded',
      customerId: p.customerId,
      amount: result.amount,
      currency: result.currency,
      chargeId: result.chargeId,
      ...optional('card', result.card),
      ...optional('reference', p.reference),
      ...optional('metadata', p.metadata),
    };
  }

  async #runRefund(request: PaymentRefundRequest, context: IdempotencyContext): Promise<PaymentRefundReceipt> {
    let p = readProgress(context.progress) as RefundProgress | undefined;
    if (p !== undefined && p.kind !== 'refund') invalid('record.progress', 'a refund recovery point', p);
    if (p === undefined) {
      const paymentId = `ref_${this.#generateId()}`;
      p = {
        v: 1,
        kind: 'refund',
        phase: 'started',
        paymentId,
        gatewayKey: `${paymentId}:refund`,
        customerId: request.customerId,
        chargeId: request.chargeId,
        amount: request.amount,
        ...optional('reference', request.reference),
        ...optional('metadata', request.metadata),
      };
      await this.#save(context, p);
    }
    if (p.phase === 'started') {
      p = { ...p, phase: 'refund_requested' };
      await this.#save(context, p);
    }
    if (p.phase === 'refund_requested') {
      const at: RefundProgress = p;
      const result = await this.#callGateway(context, at, (signal) =>
        this.#gateway.refund(
          { idempotencyKey: at.gatewayKey, chargeId: at.chargeId, amount: at.amount },
          { ...optional('signal', signal) },
        ),
      );
      p = { ...at, phase: 'refund_recorded', result };
      await this.#save(context, p);
    }
    const result = p.result as PaymentGatewayRefundResult;
    return {
      kind: 'refund',
      paymentId: p.paymentId,
      status: 'succeeded',
      customerId: p.customerId,
      amount: result.amount,
      chargeId: result.chargeId,
      refundId: result.refundId,
      ...optional('reference', p.reference),
      ...optional('metadata', p.metadata),
    };
  }
}

/**
 * Creates a {@link PaymentProcessor}.
 *
 * @param options - Gateway, store and policies; validated here.
 * @throws `ValidationError` on a bad option.
 * @example
 * ```ts
 * import { ManualClock } from 'system-design-blocks';
 * import { createPaymentProcessor, MemoryIdempotencyStore, SimulatedGateway } from 'system-design-blocks/idempotency';
 *
 * const clock = new ManualClock();
 * const payments = createPaymentProcessor({
 *   gateway: new SimulatedGateway({ clock, latency: 20, timeoutRate: 0.1 }),
 *   store: new MemoryIdempotencyStore({ clock }),
 *   clock,
 *   onInProgress: 'wait',
 * });
 * console.log(typeof payments.complete); // function
 * ```
 */
export function createPaymentProcessor(options: PaymentProcessorOptions): PaymentProcessor {
  return new PaymentProcessor(options);
}
