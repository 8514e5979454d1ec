/**
 * Deep copies of JSON data, in one pass and without building strings: what the memory store keeps (frozen,
 * validated as a persistent store would) and what each replay hands out (a mutable copy).
 */
import { invalid } from '../core/validation.js';

function copy(value: unknown, path: string, freeze: boolean, seen: Set<object> | undefined): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) invalid(path, 'a JSON value (finite numbers only)', value);
      return value;
    case 'object': {
      const stack = seen ?? new Set<object>();
      if (stack.has(value)) invalid(path, 'a JSON value without cycles', value);
      stack.add(value);
      let out: unknown[] | Record<string, unknown>;
      if (Array.isArray(value)) {
        const list: unknown[] = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) invalid(`${path}[${i}]`, 'a JSON value', item);
          list[i] = copy(item, freeze ? `${path}[${i}]` : path, freeze, stack);
        }
        out = list;
      } else {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          invalid(path, 'a JSON value (plain objects and arrays only)', value);
        }
        const record: Record<string, unknown> = {};
        for (const key of Object.keys(value)) {
          const v = (value as Record<string, unknown>)[key];
          if (v === undefined) continue; // as JSON does
          record[key] = copy(v, freeze ? `${path}.${key}` : path, freeze, stack);
        }
        out = record;
      }
      stack.delete(value);
      return freeze ? Object.freeze(out) : out;
    }
    default:
      return invalid(path, 'a JSON value', value);
  }
}

/**
 * A deep, frozen copy of JSON data; rejects what a persistent store could not keep (functions, bigints,
 * non-finite numbers, class instances such as `Date`, cycles, `undefined` in arrays).
 *
 * @throws `ValidationError` naming the path of the first value that is not JSON.
 */
export function frozenJsonCopy<T>(value: T, argument: string): T {
  return copy(value, argument, true, undefined) as T;
}

/** A deep, mutable copy of (trusted) JSON data. */
export function mutableJsonCopy<T>(value: T): T {
  return copy(value, 'value', false, undefined) as T;
}
