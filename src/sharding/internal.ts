/**
 * Boundary checks shared by the routers (not exported from the block).
 */
import { assertArray, assertPositiveInteger, invalid } from '../core/validation.js';
import { DuplicateNodeError } from './errors.js';
import type { NodeInput, ShardKey } from './types.js';

/** A validated node. */
export interface ParsedNode {
  readonly id: string;
  readonly weight: number;
}

/** Throws a ValidationError unless `key` is a string or a Uint8Array. */
export function checkKey(key: unknown, argument = 'key'): asserts key is ShardKey {
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) invalid(argument, 'a string or a Uint8Array', key);
}

/** Validates one node id. */
export function checkNodeId(id: unknown, argument: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) invalid(argument, 'a non-empty string node id', id);
}

/** Validates one node given as an id or `{ id, weight }`. */
export function parseNode(node: unknown, argument: string, weighted = true): ParsedNode {
  if (typeof node === 'string') {
    checkNodeId(node, argument);
    return { id: node, weight: 1 };
  }
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    invalid(argument, weighted ? 'a node id or { id, weight }' : 'a node id', node);
  }
  const { id, weight } = node as { id?: unknown; weight?: unknown };
  checkNodeId(id, `${argument}.id`);
  if (weight === undefined) return { id, weight: 1 };
  if (!weighted) {
    if (weight !== 1) invalid(`${argument}.weight`, 'no weight (or 1): this router cannot weight its nodes', weight);
    return { id, weight: 1 };
  }
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    invalid(`${argument}.weight`, 'a finite number > 0', weight);
  }
  return { id, weight };
}

/** Validates a list of nodes: each well formed, no id twice. */
export function parseNodes(nodes: unknown, argument: string, weighted = true): ParsedNode[] {
  if (nodes === undefined) return [];
  assertArray(nodes, argument);
  const seen = new Set<string>();
  const parsed: ParsedNode[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const node = parseNode(nodes[i] as NodeInput, `${argument}[${i}]`, weighted);
    if (seen.has(node.id)) throw new DuplicateNodeError(node.id, `${argument}[${i}]`);
    seen.add(node.id);
    parsed.push(node);
  }
  return parsed;
}

/** Validates the `n` of a `getN` call. */
export function checkCount(n: unknown, argument = 'n'): asserts n is number {
  assertPositiveInteger(n, argument);
}

/** Compares two ids in code-unit order, the tie-break every router uses. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
