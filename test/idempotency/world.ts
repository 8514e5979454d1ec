/**
 * A simulated deployment for the processor tests and the harness: several "processes" share one store and
 * one gateway; a process can crash at a recovery point (everything it does afterwards fails, and whatever it
 * had in flight is lost), and its store calls can fail at random.
 */
import type { ManualClock } from '../../src/core/index.js';
import {
  createPaymentProcessor,
  type IdempotencyStore,
  type PaymentGateway,
  type PaymentProcessor,
  type PaymentProcessorOptions,
} from '../../src/idempotency/index.js';
import { InjectedStoreError } from './support.js';

/** Where a process may die: just after the named recovery point was saved, or around the gateway call. */
export type CrashPoint =
  | 'acquired'
  | 'started'
  | 'charge_requested'
  | 'gateway_answered'
  | 'charge_recorded'
  | 'refund_requested'
  | 'refund_recorded';

/** What a dead process's calls fail with. */
export class ProcessCrashedError extends Error {
  constructor() {
    super('the process crashed');
    this.name = 'ProcessCrashedError';
  }
}

/** How a store call fails: not at all, before reaching the store, or after it acted (the answer is lost). */
export type StoreFault = 'none' | 'before' | 'after';

export interface SimProcessOptions<S> {
  /** Decides, at each crash point, whether the process dies there. */
  readonly crashAt?: (point: CrashPoint) => boolean;
  /** Decides whether (and how) a store call fails. */
  readonly storeFault?: (operation: string) => StoreFault;
  /** Processor options besides gateway, store and clock. */
  readonly processor?: Partial<PaymentProcessorOptions>;
  /** Builds the service under test over this process's store and gateway. @defaultValue a PaymentProcessor */
  readonly build?: (store: IdempotencyStore, gateway: PaymentGateway) => S;
}

/** One process: a service whose store and gateway calls die with it. */
export class SimProcess<S = PaymentProcessor> {
  dead = false;
  readonly processor: S;
  readonly #crashAt: (point: CrashPoint) => boolean;
  readonly #storeFault: (operation: string) => StoreFault;

  constructor(
    store: IdempotencyStore,
    gateway: PaymentGateway,
    clock: ManualClock,
    options: SimProcessOptions<S> = {},
  ) {
    this.#crashAt = options.crashAt ?? (() => false);
    this.#storeFault = options.storeFault ?? (() => 'none');
    const guard = async <R>(
      operation: string,
      run: () => Promise<R>,
      after?: (result: R) => CrashPoint | undefined,
    ) => {
      if (this.dead) throw new ProcessCrashedError();
      const fault = this.#storeFault(operation);
      if (fault === 'before') throw new InjectedStoreError(operation);
      const result = await run();
      if (fault === 'after') throw new InjectedStoreError(operation);
      if (this.dead) throw new ProcessCrashedError(); // died while waiting: the answer is lost
      const point = after?.(result);
      if (point !== undefined && this.#crashAt(point)) {
        this.dead = true;
        throw new ProcessCrashedError();
      }
      return result;
    };
    const proxiedStore: IdempotencyStore = {
      begin: (input) =>
        guard(
          'begin',
          () => store.begin(input),
          (r) => (r.status === 'acquired' ? 'acquired' : undefined),
        ),
      checkpoint: (input) =>
        guard(
          'checkpoint',
          () => store.checkpoint(input),
          (ok) => (ok ? ((input.progress as { phase?: CrashPoint }).phase ?? undefined) : undefined),
        ),
      complete: (input) => guard('complete', () => store.complete(input)),
      release: (input) => guard('release', () => store.release(input)),
      get: (input) => guard('get', () => store.get(input)),
      listUnfinished: (input) => guard('listUnfinished', () => store.listUnfinished(input)),
    };
    const gatewayGuard = async <R>(run: () => Promise<R>): Promise<R> => {
      if (this.dead) throw new ProcessCrashedError();
      const result = await run();
      if (this.dead) throw new ProcessCrashedError();
      if (this.#crashAt('gateway_answered')) {
        this.dead = true;
        throw new ProcessCrashedError();
      }
      return result;
    };
    const proxiedGateway: PaymentGateway = {
      charge: (request, callOptions) => gatewayGuard(() => gateway.charge(request, callOptions)),
      refund: (request, callOptions) => gatewayGuard(() => gateway.refund(request, callOptions)),
    };
    this.processor =
      options.build === undefined
        ? (createPaymentProcessor({ gateway: proxiedGateway, store: proxiedStore, clock, ...options.processor }) as S)
        : options.build(proxiedStore, proxiedGateway);
  }
}
