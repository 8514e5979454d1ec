/**
 * Canonical JSON and SHA-256: the deterministic form used for request fingerprints and audit hash chains.
 */
import { createHash } from 'node:crypto';
import { invalid } from './validation.js';

/** A value that survives a JSON round trip unchanged. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

function write(value: unknown, path: string, out: string[], seen: Set<object>): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) invalid(path, 'a JSON value (finite numbers only)', value);
      out.push(JSON.stringify(value));
      return;
    case 'object': {
      if (seen.has(value)) invalid(path, 'a JSON value without cycles', value);
      seen.add(value);
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          write(value[i], `${path}[${i}]`, out, seen);
        }
        out.push(']');
      } else {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          invalid(path, 'a JSON value (plain objects and arrays only)', value);
        }
        const keys = Object.keys(value).sort();
        out.push('{');
        let first = true;
        for (const key of keys) {
          const v = (value as Record<string, unknown>)[key];
          if (v === undefined) continue; // as JSON.stringify does
          if (!first) out.push(',');
          first = false;
          out.push(JSON.stringify(key), ':');
          write(v, `${path}.${key}`, out, seen);
        }
        out.push('}');
      }
      seen.delete(value);
      return;
    }
    default:
      invalid(path, 'a JSON value', value);
  }
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
  write(value, argument, out, new Set());
  return out.join('');
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
  return createHash('sha256').update(input).digest('hex');
}
