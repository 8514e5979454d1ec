/**
 * xxHash over strings (UTF-8) and bytes, backed by xxhash-wasm. The WebAssembly module is compiled once,
 * lazily, for the whole package: await {@link initHashing} once, then hash synchronously.
 */
import xxhash from 'xxhash-wasm';
import { errorGuard, SystemDesignError } from './errors.js';
import { invalid } from './validation.js';

type XXHashAPI = Awaited<ReturnType<typeof xxhash>>;

/** Input accepted by the hash functions: a string (hashed as UTF-8) or raw bytes. */
export type HashInput = string | Uint8Array;

/** The synchronous hash functions, available once {@link initHashing} has resolved. */
export interface Hashing {
  /** xxHash32 of `input` with `seed` (an unsigned 32-bit integer, default 0), as an unsigned 32-bit number. */
  xxh32(input: HashInput, seed?: number): number;
  /** xxHash64 of `input` with `seed` (an unsigned 64-bit bigint, default 0n), as an unsigned 64-bit bigint. */
  xxh64(input: HashInput, seed?: bigint): bigint;
}

/**
 * A hash function was called before {@link initHashing} resolved (`E_HASHING_NOT_READY`).
 */
export class HashingNotReadyError extends SystemDesignError {
  /** The stable code of this error. */
  static readonly code = 'E_HASHING_NOT_READY';

  constructor() {
    super(
      HashingNotReadyError.code,
      'xxhash is not initialised yet: `await initHashing()` once before calling xxh32/xxh64 ' +
        '(HashRing.create and the other async factories do it for you)',
    );
  }
}

/** True when `error` is a {@link HashingNotReadyError} from any copy of the package. */
export const isHashingNotReadyError: (error: unknown) => error is HashingNotReadyError =
  errorGuard<HashingNotReadyError>(HashingNotReadyError.code);

let api: XXHashAPI | undefined;
let loading: Promise<Hashing> | undefined;

const MAX_U64 = (1n << 64n) - 1n;

function checkSeed32(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    invalid('seed', 'an unsigned 32-bit integer', seed);
  }
}

function checkSeed64(seed: bigint): void {
  if (typeof seed !== 'bigint' || seed < 0n || seed > MAX_U64) invalid('seed', 'an unsigned 64-bit bigint', seed);
}

function ready(): XXHashAPI {
  if (api === undefined) throw new HashingNotReadyError();
  return api;
}

/**
 * xxHash32 of a string (UTF-8) or bytes. Synchronous; needs {@link initHashing} to have resolved.
 *
 * @param input - String or bytes to hash.
 * @param seed - Unsigned 32-bit seed. @defaultValue 0
 * @throws {@link HashingNotReadyError} before initialisation; {@link ValidationError} on a bad input or seed.
 * @example
 * ```ts
 * import { initHashing, xxh32 } from 'system-design-blocks';
 *
 * await initHashing();
 * console.log(xxh32('abc').toString(16)); // 32d153ff
 * ```
 */
export function xxh32(input: HashInput, seed = 0): number {
  const h = ready();
  if (seed !== 0) checkSeed32(seed);
  if (typeof input === 'string') return h.h32(input, seed);
  if (input instanceof Uint8Array) return h.h32Raw(input, seed);
  return invalid('input', 'a string or a Uint8Array', input);
}

/**
 * xxHash64 of a string (UTF-8) or bytes, as an unsigned bigint. Synchronous; needs {@link initHashing}.
 *
 * @param input - String or bytes to hash.
 * @param seed - Unsigned 64-bit seed. @defaultValue 0n
 * @throws {@link HashingNotReadyError} before initialisation; {@link ValidationError} on a bad input or seed.
 * @example
 * ```ts
 * import { initHashing, xxh64 } from 'system-design-blocks';
 *
 * await initHashing();
 * console.log(xxh64('abc').toString(16)); // 44bc2cf5ad770999
 * ```
 */
export function xxh64(input: HashInput, seed = 0n): bigint {
  const h = ready();
  if (seed !== 0n) checkSeed64(seed);
  if (typeof input === 'string') return h.h64(input, seed);
  if (input instanceof Uint8Array) return h.h64Raw(input, seed);
  return invalid('input', 'a string or a Uint8Array', input);
}

const hashing: Hashing = Object.freeze({ xxh32, xxh64 });

/**
 * Compiles the xxhash WebAssembly module, once for the whole package; later calls return the same promise.
 * Resolves to the synchronous hash functions.
 *
 * @example
 * ```ts
 * import { initHashing } from 'system-design-blocks';
 *
 * const { xxh64 } = await initHashing();
 * const shard = Number(xxh64('order-42') % 16n);
 * console.log(shard >= 0 && shard < 16);
 * ```
 */
export function initHashing(): Promise<Hashing> {
  if (loading === undefined) {
    loading = xxhash().then(
      (loaded) => {
        api = loaded;
        return hashing;
      },
      (error: unknown) => {
        loading = undefined; // a failed compile may be retried
        throw error;
      },
    );
  }
  return loading;
}

/** True once {@link initHashing} has resolved and the hash functions can be called. */
export function isHashingReady(): boolean {
  return api !== undefined;
}
