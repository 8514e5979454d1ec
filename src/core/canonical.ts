/**
 * Canonical JSON and SHA-256: the deterministic form used for request fingerprints and audit hash chains.
 */
import { hash } from 'node:crypto';
import { invalid } from './validation.js';

/** A value that survives a JSON round trip unchanged. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Fast pass: no path bookkeeping. Returns false at the first value JSON cannot carry. */
function write(value: unknown, out: string[], seen: Set<object>): boolean {
  if (value === null) {
    out.push('null');
    return true;
  }
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return true;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return true;
    case 'number':
      if (!Number.isFinite(value)) return false;
      out.push(JSON.stringify(value));
      return true;
    case 'object': {
      if (seen.has(value)) return false;
      seen.add(value);
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          if (!write(value[i], out, seen)) return false;
        }
        out.push(']');
      } else {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) return false;
        const keys = Object.keys(value).sort();
        out.push('{');
        let first = true;
        for (const key of keys) {
          const v = (value as Record<string, unknown>)[key];
          if (v === undefined) continue; // as JSON.stringify does
          if (!first) out.push(',');
          first = false;
          out.push(JSON.stringify(key), ':');
          if (!write(v, out, seen)) return false;
        }
        out.push('}');
      }
      seen.delete(value);
      return true;
    }
    default:
      return false;
  }
}

/** Slow pass, only after the fast one failed: finds the path of the first bad value and throws. */
function explain(value: unknown, path: string, seen: Set<object>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) invalid(path, 'a JSON value (finite numbers only)', value);
    return;
  }
  if (typeof value !== 'object') invalid(path, 'a JSON value', value);
  if (seen.has(value)) invalid(path, 'a JSON value without cycles', value);
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) explain(value[i], `${path}[${i}]`, seen);
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      invalid(path, 'a JSON value (plain objects and arrays only)', value);
    }
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) explain(v, `${path}.${key}`, seen);
    }
  }
  seen.delete(value);
}

/**
 * Serialises `value` as JSON with object keys sorted at every level, so equal data gives equal text whatever
 * the key order. Rejects what JSON cannot carry faithfully (functions, symbols, bigints, `undefined` at the
 * top or in arrays, non-finite numbers, class instances such as `Date` or `Map`, cycles).
 *
 * @param value - The value to serialise.
 * @param argument - Name used in the error. @defaultValue 'value'
 * @throws {@link ValidationError} naming the path of the first value that is not JSON.
 * @example
 * ```ts
 * import { canonicalJson } from 'system-design-blocks';
 *
 * console.log(canonicalJson({ b: 1, a: [true, null] })); // {"a":[true,null],"b":1}
 * ```
 */
export function canonicalJson(value: unknown, argument = 'value'): string {
  const out: string[] = [];
  if (write(value, out, new Set())) return out.join('');
  explain(value, argument, new Set());
  return invalid(argument, 'a JSON value', value); // unreachable: explain throws
}

/**
 * SHA-256 of a string (UTF-8) or bytes, as lowercase hex.
 *
 * @example
 * ```ts
 * import { sha256Hex } from 'system-design-blocks';
 *
 * console.log(sha256Hex('abc').slice(0, 8)); // ba7816bf
 * ```
 */
export function sha256Hex(input: string | Uint8Array): string {
  return hash('sha256', input, 'hex'); // one-shot: no Hash object per call
}
