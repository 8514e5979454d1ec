/**
 * Errors of the idempotency block. Each carries the HTTP status an API would answer with, so a web layer can
 * map them without a lookup table (IETF Idempotency-Key draft: 409 in progress, 422 key reused).
 */
import { errorGuard, SystemDesignError, type SystemDesignErrorOptions } from '../core/index.js';

/**
 * A request with this idempotency key is still being processed (`E_IDEMPOTENCY_IN_PROGRESS`, HTTP 409).
 * Retry after `retryAfter` ms: by then the first request has finished or its lease has expired.
 */
export class IdempotencyInProgressError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_IDEMPOTENCY_IN_PROGRESS';
  /** The HTTP status an API answers with. */
  readonly httpStatus = 409;
  /** Caller scope the key belongs to. */
  readonly scope: string;
  /** The idempotency key. */
  readonly key: string;
  /** Suggested wait before retrying, in ms (the rest of the current lease, at least 1). */
  readonly retryAfter: number;

  constructor(details: { scope: string; key: string; retryAfter: number }, options?: SystemDesignErrorOptions) {
    super(
      IdempotencyInProgressError.code,
      `A request with idempotency key "${details.key}" is still in progress; retry in ${details.retryAfter} ms`,
      options,
    );
    this.scope = details.scope;
    this.key = details.key;
    this.retryAfter = details.retryAfter;
  }
}

/** True when `error` is an {@link IdempotencyInProgressError} from any copy of the package. */
export const isIdempotencyInProgressError: (error: unknown) => error is IdempotencyInProgressError =
  errorGuard<IdempotencyInProgressError>(IdempotencyInProgressError.code);

/**
 * The idempotency key was already used with a different request payload (`E_IDEMPOTENCY_KEY_REUSED`,
 * HTTP 422). Nothing was executed: a client bug, not a retry.
 */
export class IdempotencyKeyReusedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_IDEMPOTENCY_KEY_REUSED';
  /** The HTTP status an API answers with. */
  readonly httpStatus = 422;
  /** Caller scope the key belongs to. */
  readonly scope: string;
  /** The idempotency key. */
  readonly key: string;

  constructor(details: { scope: string; key: string }, options?: SystemDesignErrorOptions) {
    super(
      IdempotencyKeyReusedError.code,
      `Idempotency key "${details.key}" was already used with a different request payload`,
      options,
    );
    this.scope = details.scope;
    this.key = details.key;
  }
}

/** True when `error` is an {@link IdempotencyKeyReusedError} from any copy of the package. */
export const isIdempotencyKeyReusedError: (error: unknown) => error is IdempotencyKeyReusedError =
  errorGuard<IdempotencyKeyReusedError>(IdempotencyKeyReusedError.code);

/**
 * The holder's lease was taken over by another worker, so its fencing token no longer writes anything
 * (`E_IDEMPOTENCY_LEASE_LOST`). Thrown by `context.checkpoint()`; the handler should stop.
 */
export class IdempotencyLeaseLostError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_IDEMPOTENCY_LEASE_LOST';
  /** Caller scope the key belongs to. */
  readonly scope: string;
  /** The idempotency key. */
  readonly key: string;
  /** The stale fencing token. */
  readonly token: number;

  constructor(details: { scope: string; key: string; token: number }, options?: SystemDesignErrorOptions) {
    super(
      IdempotencyLeaseLostError.code,
      `The lease on idempotency key "${details.key}" (token ${details.token}) was taken over by another worker`,
      options,
    );
    this.scope = details.scope;
    this.key = details.key;
    this.token = details.token;
  }
}

/** True when `error` is an {@link IdempotencyLeaseLostError} from any copy of the package. */
export const isIdempotencyLeaseLostError: (error: unknown) => error is IdempotencyLeaseLostError =
  errorGuard<IdempotencyLeaseLostError>(IdempotencyLeaseLostError.code);

/** The store operations, as named in {@link IdempotencyStoreError}. */
export type IdempotencyStoreOperation = 'begin' | 'checkpoint' | 'complete' | 'release' | 'get' | 'listUnfinished';

/**
 * The idempotency store failed (`E_IDEMPOTENCY_STORE`, HTTP 503). The store's own error is in `cause`. When
 * `begin` fails nothing ran and the client may retry.
 */
export class IdempotencyStoreError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_IDEMPOTENCY_STORE';
  /** The HTTP status an API answers with. */
  readonly httpStatus = 503;
  /** The store operation that failed. */
  readonly operation: IdempotencyStoreOperation;
  /** Caller scope the key belongs to. */
  readonly scope: string;
  /** The idempotency key. */
  readonly key: string;

  constructor(
    details: { operation: IdempotencyStoreOperation; scope: string; key: string },
    options?: SystemDesignErrorOptions,
  ) {
    super(
      IdempotencyStoreError.code,
      `The idempotency store failed on ${details.operation} for key "${details.key}"`,
      options,
    );
    this.operation = details.operation;
    this.scope = details.scope;
    this.key = details.key;
  }
}

/** True when `error` is an {@link IdempotencyStoreError} from any copy of the package. */
export const isIdempotencyStoreError: (error: unknown) => error is IdempotencyStoreError =
  errorGuard<IdempotencyStoreError>(IdempotencyStoreError.code);

/**
 * The handler ran but its result could not be turned into the JSON the store keeps
 * (`E_IDEMPOTENCY_UNSERIALIZABLE`). The key stays leased until the lease expires, since the handler's effect
 * happened; supply `serialize` for results that are not plain JSON.
 */
export class IdempotencyUnserializableError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_IDEMPOTENCY_UNSERIALIZABLE';
  /** Caller scope the key belongs to. */
  readonly scope: string;
  /** The idempotency key. */
  readonly key: string;

  constructor(details: { scope: string; key: string }, options?: SystemDesignErrorOptions) {
    super(
      IdempotencyUnserializableError.code,
      `The outcome for idempotency key "${details.key}" is not JSON-serialisable; pass a serialize option`,
      options,
    );
    this.scope = details.scope;
    this.key = details.key;
  }
}

/** True when `error` is an {@link IdempotencyUnserializableError} from any copy of the package. */
export const isIdempotencyUnserializableError: (error: unknown) => error is IdempotencyUnserializableError =
  errorGuard<IdempotencyUnserializableError>(IdempotencyUnserializableError.code);
