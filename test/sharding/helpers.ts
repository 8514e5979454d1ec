/** Shared helpers of the sharding tests. */
import type { Router, ShardKey } from 'system-design-blocks/sharding';

/** `count` distinct order keys with a prefix. */
export function orderKeys(count: number, prefix = 'order-'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Node ids `node-0` … `node-(count-1)`. */
export function nodeIds(count: number, prefix = 'node-'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Where each key goes. */
export function routing(router: Router, keys: readonly ShardKey[]): string[] {
  return keys.map((key) => router.get(key));
}

/** Everything observable about a router, to assert a failed call changed nothing. */
export function snapshot(router: Router, keys: readonly ShardKey[]): unknown {
  return { size: router.size, nodes: router.nodes(), routing: router.size === 0 ? [] : routing(router, keys) };
}

/** Keys per node. */
export function counts(router: Router, keys: readonly ShardKey[]): Map<string, number> {
  const result = new Map<string, number>(router.nodes().map((id) => [id, 0]));
  for (const key of keys) {
    const id = router.get(key);
    result.set(id, (result.get(id) ?? 0) + 1);
  }
  return result;
}

/** Runs `fn`, returns what it threw (fails the test when it did not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error: unknown) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** Straightforward BigInt reference of jump consistent hashing (Lamping & Veach, figure 1). */
export function jumpHashReference(key: bigint, buckets: number): number {
  const mask = (1n << 64n) - 1n;
  let b = -1n;
  let j = 0n;
  let k = key;
  while (j < BigInt(buckets)) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & mask;
    j = BigInt(Math.floor(Number(b + 1n) * (2 ** 31 / Number((k >> 33n) + 1n))));
  }
  return Number(b);
}
