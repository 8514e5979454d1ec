/**
 * The exactly-once harness: many keys, many concurrent duplicates per key, and the faults payments meet in
 * production (gateway timeouts after the charge, store errors before and after the write, leases that expire
 * mid-call, processes that crash between recovery points), followed by a recovery sweep and a replay of every
 * duplicate. It reports what it saw; `passed` is false as soon as one invariant breaks, so it can fail (the
 * naive check-then-insert implementation below makes it fail).
 */
import { ManualClock } from '../../src/core/index.js';
import {
  createPaymentProcessor,
  type IdempotencyStore,
  isIdempotencyInProgressError,
  isPaymentDeclinedError,
  isPaymentGatewayRejectedError,
  MemoryIdempotencyStore,
  type PaymentChargeReceipt,
  type PaymentChargeRequest,
  PaymentDeclinedError,
  type PaymentGateway,
  SimulatedGateway,
} from '../../src/idempotency/index.js';
import { drive, seeded } from './support.js';
import { SimProcess, type StoreFault } from './world.js';

/** What the harness drives: one process's view of a payment service. */
export interface ChargeService {
  charge(request: PaymentChargeRequest): Promise<{ readonly value: PaymentChargeReceipt; readonly replayed: boolean }>;
  /** The recovery sweep (may do nothing). */
  complete(): Promise<unknown>;
  /** Whether the key reached a saved outcome. */
  status(customerId: string, key: string): Promise<'completed' | 'unfinished' | 'absent'>;
}

/** An implementation under test: builds a process's service over its (faulty, crashable) store and gateway. */
export interface HarnessImplementation {
  readonly name: string;
  build(env: {
    store: IdempotencyStore;
    gateway: PaymentGateway;
    clock: ManualClock;
    random: () => number;
  }): ChargeService;
}

export interface HarnessOptions {
  readonly keys: number;
  readonly duplicates: number;
  readonly seed: number;
  /** Share of gateway calls whose response is lost after the charge. */
  readonly timeoutRate: number;
  /** Share of store calls that fail (half before the write, half after it). */
  readonly storeErrorRate: number;
  /** Chance that a process dies at each recovery point it passes. */
  readonly crashRate: number;
  /** Share of gateway calls slower than the lease (the lease expires mid-call). */
  readonly slowRate: number;
  readonly declineRate: number;
  readonly lease: number;
  readonly processes: number;
}

export const defaultHarnessOptions: HarnessOptions = {
  keys: 1_000,
  duplicates: 20,
  seed: 42,
  timeoutRate: 0.1,
  storeErrorRate: 0.05,
  crashRate: 0.003,
  slowRate: 0.02,
  declineRate: 0.03,
  lease: 1_000,
  processes: 4,
};

export interface HarnessReport {
  readonly implementation: string;
  readonly keys: number;
  readonly requests: number;
  readonly charges: number;
  /** Extra charges beyond one per key, counted by the gateway. */
  readonly doubleCharges: number;
  /** Charges the saved outcome of their key does not name (money moved, record says otherwise). */
  readonly unrecordedCharges: number;
  /** Keys neither completed nor cleanly absent after the sweep. */
  readonly nonTerminalKeys: number;
  /** Duplicates whose outcome differed from the first outcome of their key. */
  readonly replayMismatches: number;
  readonly faults: {
    readonly timeouts: number;
    readonly storeErrors: number;
    readonly crashes: number;
    readonly slowCalls: number;
  };
  readonly clientsGaveUp: number;
  readonly sweeps: number;
  readonly passed: boolean;
}

type Outcome =
  | { readonly kind: 'value'; readonly text: string; readonly chargeId: string }
  | { readonly kind: 'error'; readonly text: string };

function isTerminal(error: unknown): boolean {
  return isPaymentDeclinedError(error) || isPaymentGatewayRejectedError(error);
}

function outcomeOf(result: { ok: true; value: PaymentChargeReceipt } | { ok: false; error: unknown }): Outcome {
  // Receipts are built field by field in one place, so equal receipts serialise to equal text.
  if (result.ok) return { kind: 'value', text: JSON.stringify(result.value), chargeId: result.value.chargeId };
  const e = result.error as { code?: string; message?: string; declineCode?: string; paymentId?: string };
  return { kind: 'error', text: JSON.stringify([e.code, e.message, e.declineCode, e.paymentId]) };
}

/** Runs the harness against one implementation. */
export async function runPaymentHarness(
  implementation: HarnessImplementation,
  overrides: Partial<HarnessOptions> = {},
): Promise<HarnessReport> {
  // Tens of thousands of expected errors (409s, injected faults) are thrown; their stack traces are not needed.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await harness(implementation, { ...defaultHarnessOptions, ...overrides });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

async function harness(implementation: HarnessImplementation, o: HarnessOptions): Promise<HarnessReport> {
  const random = seeded(o.seed);
  const clock = new ManualClock();
  const store = new MemoryIdempotencyStore({ clock });
  const faults = { timeouts: 0, storeErrors: 0, crashes: 0, slowCalls: 0 };
  let faultsOn = true;
  const gateway = new SimulatedGateway({
    clock,
    latency: () => {
      if (faultsOn && random() < o.slowRate) {
        faults.slowCalls++;
        return o.lease * 2.5;
      }
      return 5 + Math.floor(random() * 45);
    },
    fault: (call) => {
      if (!faultsOn) return 'none';
      const r = random();
      if (r < o.timeoutRate) {
        faults.timeouts++;
        return 'timeout';
      }
      return call.operation === 'charge' && r < o.timeoutRate + o.declineRate ? 'decline' : 'none';
    },
  });
  const paymentMethod = gateway.createPaymentMethod({ number: '4242424242424242', expMonth: 1, expYear: 2031 });

  const spawn = (sweeper = false): SimProcess<ChargeService> => {
    const proc: SimProcess<ChargeService> = new SimProcess<ChargeService>(store, gateway, clock, {
      crashAt: () => {
        if (!faultsOn || sweeper || random() >= o.crashRate) return false;
        faults.crashes++;
        return true;
      },
      storeFault: (): StoreFault => {
        if (!faultsOn || random() >= o.storeErrorRate) return 'none';
        faults.storeErrors++;
        return random() < 0.5 ? 'before' : 'after';
      },
      build: (s, g) => implementation.build({ store: s, gateway: g, clock, random }),
    });
    return proc;
  };
  const processes = Array.from({ length: o.processes }, () => spawn());
  const pick = (): SimProcess<ChargeService> => {
    const i = Math.floor(random() * processes.length);
    let proc = processes[i] as SimProcess<ChargeService>;
    if (proc.dead) {
      proc = spawn(); // the orchestrator restarts a crashed process
      processes[i] = proc;
    }
    return proc;
  };

  const customerOf = (k: number): string => `customer-${k % 97}`;
  const requestOf = (k: number): PaymentChargeRequest => ({
    idempotencyKey: `order-${k}`,
    customerId: customerOf(k),
    amount: 1_000 + k,
    currency: 'USD',
    paymentMethod,
    reference: `order-${k}`,
  });
  let requests = 0;
  let gaveUp = 0;
  const outcomes: Outcome[][] = Array.from({ length: o.keys }, () => []);

  const client = async (k: number, maxAttempts: number): Promise<void> => {
    const request = requestOf(k);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      requests++;
      let result: { ok: true; value: PaymentChargeReceipt } | { ok: false; error: unknown };
      try {
        result = { ok: true, value: (await pick().processor.charge(request)).value };
      } catch (error: unknown) {
        result = { ok: false, error };
      }
      if (result.ok || isTerminal(result.error)) {
        (outcomes[k] as Outcome[]).push(outcomeOf(result));
        return;
      }
      const base = !result.ok && isIdempotencyInProgressError(result.error) ? 150 : 100;
      await clock.sleep(base * attempt + Math.floor(random() * 100));
    }
    gaveUp++;
  };

  // Phase 1: every key submitted by `duplicates` concurrent clients, keys arriving 25 per 50 ms.
  const phase1: Promise<void>[] = [];
  for (let k = 0; k < o.keys; k++) {
    const start = Math.floor(k / 25) * 50;
    phase1.push(
      clock
        .sleep(start)
        .then(() => Promise.all(Array.from({ length: o.duplicates }, () => client(k, 8))).then(() => {})),
    );
  }
  await drive(clock, Promise.all(phase1));

  // Phase 2: leases of crashed processes run out; the recovery sweep drives every key to a terminal state.
  let sweeps = 0;
  for (let round = 0; round < 6; round++) {
    await clock.advanceAsync(o.lease * 3);
    sweeps++;
    await drive(clock, spawn(true).processor.complete());
  }
  let nonTerminalKeys = 0;
  const sweeper = spawn(true).processor;
  faultsOn = false;
  const charged = new Set(gateway.charges().map((c) => c.reference));
  for (let k = 0; k < o.keys; k++) {
    const status = await sweeper.status(customerOf(k), `order-${k}`);
    if (status === 'unfinished' || (status === 'absent' && charged.has(`order-${k}`))) nonTerminalKeys++;
  }

  // Phase 3: every duplicate asks again, without faults: each must get the key's first outcome.
  const phase3: Promise<void>[] = [];
  for (let k = 0; k < o.keys; k++) {
    phase3.push(Promise.all(Array.from({ length: o.duplicates }, () => client(k, 12))).then(() => {}));
  }
  await drive(clock, Promise.all(phase3));

  let replayMismatches = 0;
  for (const list of outcomes) {
    const first = list[0];
    for (const outcome of list) if (first !== undefined && outcome.text !== first.text) replayMismatches++;
  }
  const byReference = new Map<string, string[]>();
  for (const charge of gateway.charges()) {
    const list = byReference.get(charge.reference ?? '') ?? [];
    list.push(charge.chargeId);
    byReference.set(charge.reference ?? '', list);
  }
  let doubleCharges = 0;
  let unrecordedCharges = 0;
  for (const [reference, chargeIds] of byReference) {
    doubleCharges += chargeIds.length - 1;
    const k = Number(reference.slice('order-'.length));
    const first = outcomes[k]?.[0];
    for (const id of chargeIds) if (first?.kind !== 'value' || first.chargeId !== id) unrecordedCharges++;
  }
  const passed = doubleCharges === 0 && unrecordedCharges === 0 && nonTerminalKeys === 0 && replayMismatches === 0;
  return {
    implementation: implementation.name,
    keys: o.keys,
    requests,
    charges: gateway.chargeCount,
    doubleCharges,
    unrecordedCharges,
    nonTerminalKeys,
    replayMismatches,
    faults,
    clientsGaveUp: gaveUp,
    sweeps,
    passed,
  };
}

/** The library's processor. */
export const processorImplementation: HarnessImplementation = {
  name: 'PaymentProcessor',
  build({ store, gateway, clock, random }) {
    let ids = 0;
    const prefix = Math.floor(random() * 1e9).toString(36);
    const processor = createPaymentProcessor({
      gateway,
      store,
      clock,
      lease: defaultHarnessOptions.lease,
      gatewayAttempts: 3,
      gatewayBackoff: { initial: 50, max: 400, jitter: 'full', random },
      sweepAttempts: 5,
      generateId: () => `${prefix}-${++ids}`,
    });
    return {
      charge: (request) => processor.charge(request),
      complete: () => processor.complete(),
      async status(customerId, key) {
        const record = await processor.inspect(customerId, key);
        return record === undefined ? 'absent' : record.state === 'completed' ? 'completed' : 'unfinished';
      },
    };
  },
};

/**
 * The implementation most hand-written code starts as: look the key up, and if it is not there, charge and
 * then store the result. Two duplicates in flight both miss; a timed-out charge is retried with a new gateway
 * request. The harness must catch it.
 */
export function naiveImplementation(): HarnessImplementation {
  const db = new Map<string, PaymentChargeReceipt>();
  let ids = 0;
  return {
    name: 'naive check-then-insert',
    build({ gateway }) {
      return {
        async charge(request) {
          const key = `${request.customerId}/${request.idempotencyKey}`;
          const seen = await Promise.resolve(db.get(key)); // check …
          if (seen !== undefined) return { value: seen, replayed: true };
          const paymentId = `naive_${++ids}`;
          const result = await gateway.charge({
            idempotencyKey: paymentId, // a fresh gateway key per attempt
            amount: request.amount,
            currency: request.currency,
            paymentMethod: request.paymentMethod,
            ...(request.reference === undefined ? {} : { reference: request.reference }),
          });
          if (result.status === 'declined') {
            throw new PaymentDeclinedError({
              paymentId,
              customerId: request.customerId,
              chargeId: result.chargeId,
              declineCode: result.declineCode,
            });
          }
          const receipt: PaymentChargeReceipt = {
            kind: 'charge',
            paymentId,
            status: 'succeeded',
            customerId: request.customerId,
            amount: result.amount,
            currency: result.currency,
            chargeId: result.chargeId,
          };
          await Promise.resolve();
          db.set(key, receipt); // … then insert
          return { value: receipt, replayed: false };
        },
        async complete() {},
        async status(customerId, key) {
          return db.has(`${customerId}/${key}`) ? 'completed' : 'absent';
        },
      };
    },
  };
}
