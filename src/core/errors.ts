/**
 * The error family shared by every block.
 *
 * Guards check a brand and the stable `code`, not `instanceof`, so they keep working when two copies of
 * the package (ESM and CJS, or two versions) meet in one process.
 */

const BRAND: unique symbol = Symbol.for('system-design-blocks.error') as never;

/** Options accepted by every error of the package. */
export interface SystemDesignErrorOptions {
  /** The error that caused this one, if any. */
  readonly cause?: unknown;
}

/**
 * Base class of every error the package throws. Each subclass has a stable `code` (`E_…`) that callers can
 * switch on, the context a caller needs as readonly fields, and the wrapped error in `cause`.
 *
 * @example
 * ```ts
 * import { isSystemDesignError } from 'system-design-blocks';
 *
 * try {
 *   JSON.parse('{');
 * } catch (error: unknown) {
 *   if (isSystemDesignError(error)) console.log(error.code);
 * }
 * ```
 */
export class SystemDesignError extends Error {
  /** Stable machine-readable code, for example `E_INVALID_ARGUMENT`. */
  readonly code: string;
  /** @internal */
  readonly [BRAND] = true;

  constructor(code: string, message: string, options?: SystemDesignErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `error` is any error thrown by this package (any copy of it). */
export function isSystemDesignError(error: unknown): error is SystemDesignError {
  return typeof error === 'object' && error !== null && (error as { [BRAND]?: unknown })[BRAND] === true;
}

/**
 * Builds an `isXError(e: unknown)` guard for one error code. Every block uses it for its own errors so all
 * guards behave the same way.
 *
 * @param code - The stable code the guard accepts.
 */
export function errorGuard<E extends SystemDesignError>(code: string): (error: unknown) => error is E {
  return (error: unknown): error is E => isSystemDesignError(error) && error.code === code;
}

/**
 * Describes a value for an error message: its JSON-ish form, cut short, and its type.
 *
 * @param value - Anything a caller passed.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'string': {
      const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
      return `${JSON.stringify(shown)} (string)`;
    }
    case 'number':
    case 'boolean':
      return `${String(value)} (${typeof value})`;
    case 'bigint':
      return `${String(value)}n (bigint)`;
    case 'symbol':
      return `${String(value)} (symbol)`;
    case 'function':
      return `a function (${value.name || 'anonymous'})`;
    default: {
      if (Array.isArray(value)) return `an array of length ${value.length}`;
      const name = (value as object).constructor?.name;
      return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
    }
  }
}

/** Context carried by a {@link ValidationError}. */
export interface ValidationErrorDetails extends SystemDesignErrorOptions {
  /** Name of the argument or option, e.g. `options.ttl` or `items[2].qty`. */
  readonly argument: string;
  /** What was expected, e.g. `a positive integer`. */
  readonly expected: string;
  /** What came instead. */
  readonly received: unknown;
}

/**
 * Bad input at a public boundary (`E_INVALID_ARGUMENT`). Names the argument, what was expected and what
 * came; nothing has been changed when it is thrown.
 *
 * @example
 * ```ts
 * import { ValidationError } from 'system-design-blocks';
 *
 * const error = new ValidationError({ argument: 'options.ttl', expected: 'a positive number of ms', received: -1 });
 * console.log(error.message); // options.ttl: expected a positive number of ms, got -1 (number)
 * ```
 */
export class ValidationError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_INVALID_ARGUMENT';
  /** Name of the argument or option at fault. */
  readonly argument: string;
  /** What the argument should have been. */
  readonly expected: string;
  /** The value that was passed. */
  readonly received: unknown;

  constructor(details: ValidationErrorDetails) {
    super(
      ValidationError.code,
      `${details.argument}: expected ${details.expected}, got ${describeValue(details.received)}`,
      details,
    );
    this.argument = details.argument;
    this.expected = details.expected;
    this.received = details.received;
  }
}

/** True when `error` is a {@link ValidationError} from any copy of the package. */
export const isValidationError: (error: unknown) => error is ValidationError = errorGuard<ValidationError>(
  ValidationError.code,
);

/**
 * An operation was cancelled through its `AbortSignal` (`E_ABORTED`). The signal's own `reason` is kept in
 * `cause` when it was set by the caller.
 */
export class AbortedError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_ABORTED';

  constructor(message = 'The operation was aborted', options?: SystemDesignErrorOptions) {
    super(AbortedError.code, message, options);
  }
}

/** True when `error` is an {@link AbortedError} from any copy of the package. */
export const isAbortedError: (error: unknown) => error is AbortedError = errorGuard<AbortedError>(AbortedError.code);

/**
 * The reason to reject with when `signal` aborts: the caller's own reason when one was given, else an
 * {@link AbortedError}.
 *
 * @param signal - An aborted signal.
 */
export function abortReason(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason === undefined || (reason instanceof Error && reason.name === 'AbortError')) {
    return new AbortedError(undefined, reason === undefined ? undefined : { cause: reason });
  }
  return reason;
}

/**
 * Throws the abort reason when `signal` has aborted.
 *
 * @param signal - An optional signal.
 * @throws The signal's reason, or {@link AbortedError} when it has none.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}
