/**
 * Jump consistent hashing (Lamping & Veach 2014, "A Fast, Minimal Memory, Consistent Hash Algorithm").
 */
import { initHashing, xxh64 } from '../core/index.js';
import { invalid, optionsObject } from '../core/validation.js';
import { DuplicateNodeError, EmptyRingError, JumpHashRemovalError, UnknownNodeError } from './errors.js';
import { checkKey, checkNodeId, parseNode, parseNodes } from './internal.js';
import type { Router, ShardKey } from './types.js';

const MAX_U64 = (1n << 64n) - 1n;
/** Most buckets: the reference implementation returns an int32. */
const MAX_BUCKETS = 0x7fffffff;

/**
 * The loop of jump hashing on a key split in two unsigned 32-bit halves. The 64-bit linear congruential step
 * `key = key · 2862933555777941757 + 1 (mod 2^64)` is done with 16-bit partial products, so every
 * intermediate stays an exact double; the jump is the reference's own double arithmetic.
 */
function jump(hi: number, lo: number, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // low × low, 32 × 32 → 64 bits, from 16-bit halves (multiplier low word 0x87b0b0fd).
    const a0 = lo & 0xffff;
    const a1 = lo >>> 16;
    const p00 = a0 * 0xb0fd;
    const p01 = a0 * 0x87b0;
    const p10 = a1 * 0xb0fd;
    const p11 = a1 * 0x87b0;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    let nextLo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    // High word: carries of the low product plus the two cross products (mod 2^32); multiplier high word 0x27bb2ee6.
    let nextHi =
      (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(hi, 0x87b0b0fd) + Math.imul(lo, 0x27bb2ee6)) >>> 0;
    nextLo += 1;
    if (nextLo === 0x100000000) {
      nextLo = 0;
      nextHi = (nextHi + 1) >>> 0;
    }
    hi = nextHi;
    lo = nextLo;
    // (b + 1) · 2^31 / ((key >>> 33) + 1), in doubles exactly as the reference computes it.
    j = Math.floor((b + 1) * (2147483648 / ((hi >>> 1) + 1)));
  }
  return b;
}

function checkBuckets(buckets: unknown, argument: string): asserts buckets is number {
  if (typeof buckets !== 'number' || !Number.isSafeInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
    invalid(argument, `an integer in [1, ${MAX_BUCKETS}]`, buckets);
  }
}

/**
 * Lamping & Veach's jump consistent hash: the bucket in `[0, buckets)` for a 64-bit key. Going from `n` to
 * `n + 1` buckets moves exactly the keys that land in the new bucket, about 1/(n+1) of them. Exact on the
 * whole 64-bit range (the loop uses 32-bit arithmetic, not BigInt) and needs no memory.
 *
 * @param key - An unsigned 64-bit key, e.g. `xxh64(orderId)`.
 * @param buckets - Number of buckets, an integer in [1, 2^31 - 1].
 * @returns The bucket, an integer in `[0, buckets)`.
 * @throws {@link ValidationError} when `key` is not a bigint in [0, 2^64 - 1] or `buckets` is out of range.
 * @example
 * ```ts
 * import { jumpHash } from 'system-design-blocks/sharding';
 *
 * console.log(jumpHash(42n, 57)); // 43
 * console.log(jumpHash(16045690984833335023n, 255)); // 237
 * ```
 */
export function jumpHash(key: bigint, buckets: number): number {
  if (typeof key !== 'bigint' || key < 0n || key > MAX_U64) invalid('key', 'an unsigned 64-bit bigint', key);
  checkBuckets(buckets, 'buckets');
  return jump(Number(key >> 32n), Number(key & 0xffffffffn), buckets);
}

/** Options of {@link JumpHash.create}. */
export interface JumpHashOptions {
  /** The nodes, bucket 0 first. Jump hashing has no weights. @defaultValue [] */
  readonly nodes?: readonly string[];
}

/**
 * A router over named nodes with jump consistent hashing: string and byte keys are hashed with xxh64 and
 * jumped to a bucket, bucket `i` being the `i`-th node. No memory per node and an even spread, but nodes
 * can only be appended and only the last one removed (the others would renumber buckets), and no weights.
 *
 * @example
 * ```ts
 * import { JumpHash } from 'system-design-blocks/sharding';
 *
 * const jump = await JumpHash.create({ nodes: ['db-0', 'db-1', 'db-2'] });
 * const node = jump.get('order-1042');
 * jump.add('db-3'); // moves ~1/4 of the keys, all of them to db-3
 * console.log(['db-0', 'db-1', 'db-2', 'db-3'].includes(node));
 * ```
 */
export class JumpHash implements Router {
  readonly #nodes: string[];
  readonly #index: Set<string>;

  private constructor(nodes: string[]) {
    this.#nodes = nodes;
    this.#index = new Set(nodes);
  }

  /**
   * Creates a jump-hash router. Awaits the hash function's one-time initialisation; synchronous after.
   *
   * @param options - The nodes, in bucket order; validated here.
   * @throws {@link ValidationError} on a bad option; {@link DuplicateNodeError} when an id is given twice.
   * @example
   * ```ts
   * import { JumpHash } from 'system-design-blocks/sharding';
   *
   * const jump = await JumpHash.create({ nodes: ['db-0', 'db-1'] });
   * console.log(jump.size); // 2
   * ```
   */
  static async create(options?: JumpHashOptions): Promise<JumpHash> {
    const o = optionsObject(options, 'options');
    const nodes = parseNodes(o.nodes, 'options.nodes', false).map((n) => n.id);
    await initHashing();
    return new JumpHash(nodes);
  }

  /** Number of nodes (buckets). */
  get size(): number {
    return this.#nodes.length;
  }

  /**
   * The node `key` goes to: `nodes()[jumpHash(xxh64(key), size)]`.
   *
   * @param key - A string (hashed as UTF-8) or bytes.
   * @throws {@link EmptyRingError} when there is no node; {@link ValidationError} on a bad key.
   */
  get(key: ShardKey): string {
    checkKey(key);
    const nodes = this.#nodes;
    if (nodes.length === 0) throw new EmptyRingError('JumpHash.get');
    const h = xxh64(key);
    return nodes[jump(Number(h >> 32n), Number(h & 0xffffffffn), nodes.length)] as string;
  }

  /**
   * Appends a node as the last bucket: it takes about 1/(n+1) of the keys, from every other node alike.
   *
   * @param id - The node's id (jump hashing has no weights).
   * @throws {@link DuplicateNodeError} when the id is already there; {@link ValidationError} on a bad id.
   */
  add(id: string): void {
    const parsed = parseNode(id, 'id', false);
    if (this.#index.has(parsed.id)) throw new DuplicateNodeError(parsed.id, 'JumpHash.add');
    checkBuckets(this.#nodes.length + 1, 'size after add');
    this.#nodes.push(parsed.id);
    this.#index.add(parsed.id);
  }

  /**
   * Removes the last node: only its keys move. Any other node cannot be removed without renumbering.
   *
   * @param id - The last node's id.
   * @throws {@link JumpHashRemovalError} when `id` is not the last node; {@link UnknownNodeError} when no
   * such node exists; {@link ValidationError} on a bad id. The router is unchanged in every case.
   */
  remove(id: string): void {
    checkNodeId(id, 'id');
    if (!this.#index.has(id)) throw new UnknownNodeError(id, 'JumpHash.remove');
    const last = this.#nodes[this.#nodes.length - 1] as string;
    if (id !== last) throw new JumpHashRemovalError(id, last);
    this.#nodes.pop();
    this.#index.delete(id);
  }

  /** True when `id` is one of the nodes. */
  has(id: string): boolean {
    return this.#index.has(id);
  }

  /** The node ids in bucket order (the order they were added). */
  nodes(): string[] {
    return [...this.#nodes];
  }

  /** An independent copy, e.g. to compare routings before and after a change with {@link compareRouting}. */
  clone(): JumpHash {
    return new JumpHash([...this.#nodes]);
  }
}
