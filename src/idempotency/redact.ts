/**
 * Redaction of card numbers (PANs) before anything is written at rest.
 */

// 13 to 19 digits, optionally grouped by single spaces or dashes (how people type card numbers), standing on
// their own: not glued to letters, digits or dashes, so identifiers such as UUIDs are left intact.
const CANDIDATE = /(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])/g;

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function redactString(text: string): string {
  if (text.length < 13) return text;
  return text.replace(CANDIDATE, (match) => {
    const digits = match.replace(/[ -]/g, '');
    return luhnValid(digits) ? `•••• ${digits.slice(-4)}` : match;
  });
}

function walk(value: unknown): unknown {
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) return value.map(walk);
  if (typeof value === 'object' && value !== null) {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v);
    return out;
  }
  return value;
}

/**
 * Returns a copy of `value` in which every card number (13–19 digits, spaces or dashes allowed, passing the
 * Luhn check, not part of a longer token such as a UUID) inside any string is replaced by `•••• 1234` (its
 * last four digits). Plain objects and arrays
 * are walked; other values are returned as they are; the input is not modified. The default `redact` of the
 * payment processor, and a good one for {@link idempotent} wherever customer text is saved.
 *
 * @param value - JSON-like data.
 * @example
 * ```ts
 * import { redactCardNumbers } from 'system-design-blocks/idempotency';
 *
 * console.log(redactCardNumbers({ note: 'charge 4242 4242 4242 4242 please', order: 1234567890123 }));
 * // { note: 'charge •••• 4242 please', order: 1234567890123 }
 * ```
 */
export function redactCardNumbers<T>(value: T): T {
  return walk(value) as T;
}
