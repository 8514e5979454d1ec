/**
 * What a resharding would move.
 */
import { invalid } from '../core/validation.js';
import { checkKey } from './internal.js';
import type { Router, ShardKey } from './types.js';

/** Keys that go from one node before to another after. */
export interface RoutingFlow {
  /** The node the keys went to before. */
  readonly from: string;
  /** The node they go to after. */
  readonly to: string;
  /** How many keys. */
  readonly count: number;
}

/** The result of {@link compareRouting}. */
export interface RoutingComparison {
  /** Keys compared. */
  readonly total: number;
  /** Keys whose node differs. */
  readonly moved: number;
  /** `moved / total` (0 when there were no keys). */
  readonly fraction: number;
  /** The moves grouped by (from, to), largest first (ties by from, then to). */
  readonly flows: readonly RoutingFlow[];
}

function assertRouter(value: unknown, argument: string): asserts value is Router {
  if (typeof value !== 'object' || value === null || typeof (value as { get?: unknown }).get !== 'function') {
    invalid(argument, 'a Router (an object with get(key))', value);
  }
}

/**
 * Routes every key through `before` and `after` and reports which keys would move and where: the data a
 * resharding would have to copy. Clone a router, change the clone, compare.
 *
 * @param before - The routing as it is.
 * @param after - The routing as it would be.
 * @param keys - The keys to compare (each looked up once per router).
 * @throws {@link ValidationError} when a router or a key is bad; {@link EmptyRingError} when a router has
 * no node.
 * @example
 * ```ts
 * import { compareRouting, HashRing } from 'system-design-blocks/sharding';
 *
 * const before = await HashRing.create({ nodes: ['s1', 's2', 's3'] });
 * const after = before.clone();
 * after.add('s4');
 * const keys = Array.from({ length: 10_000 }, (_, i) => `order-${i}`);
 * const diff = compareRouting(before, after, keys);
 * console.log(diff.fraction.toFixed(3)); // about 0.25, all of it to s4
 * console.log(diff.flows.every((f) => f.to === 's4')); // true
 * ```
 */
export function compareRouting(before: Router, after: Router, keys: Iterable<ShardKey>): RoutingComparison {
  assertRouter(before, 'before');
  assertRouter(after, 'after');
  if (typeof keys !== 'object' || keys === null || typeof (keys as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    invalid('keys', 'an iterable of keys', keys);
  }
  let total = 0;
  let moved = 0;
  const flows = new Map<string, Map<string, number>>();
  for (const key of keys) {
    checkKey(key, `keys[${total}]`);
    const from = before.get(key);
    const to = after.get(key);
    total++;
    if (from === to) continue;
    moved++;
    let targets = flows.get(from);
    if (targets === undefined) {
      targets = new Map();
      flows.set(from, targets);
    }
    targets.set(to, (targets.get(to) ?? 0) + 1);
  }
  const list: RoutingFlow[] = [];
  for (const [from, targets] of flows) for (const [to, count] of targets) list.push({ from, to, count });
  list.sort((a, b) => b.count - a.count || (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : 1));
  return { total, moved, fraction: total === 0 ? 0 : moved / total, flows: list };
}
