import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactCardNumbers } from '../../src/idempotency/index.js';

function luhnComplete(prefix: string): string {
  for (let d = 0; d <= 9; d++) {
    const candidate = `${prefix}${d}`;
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let n = Number(candidate[candidate.length - 1 - i]);
      if (i % 2 === 1) {
        n *= 2;
        if (n > 9) n -= 9;
      }
      sum += n;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error('unreachable');
}

describe('redactCardNumbers', () => {
  it('masks card numbers however they are grouped, keeping the last four digits', () => {
    expect(redactCardNumbers('4242424242424242')).toBe('•••• 4242');
    expect(redactCardNumbers('card 4242 4242 4242 4242, thanks')).toBe('card •••• 4242, thanks');
    expect(redactCardNumbers('5555-5555-5555-4444')).toBe('•••• 4444');
    expect(redactCardNumbers('amex 378282246310005')).toBe('amex •••• 0005');
  });

  it('leaves numbers that are not card numbers alone', () => {
    expect(redactCardNumbers('order 1234567890123')).toBe('order 1234567890123'); // fails Luhn
    expect(redactCardNumbers('call 555 0100')).toBe('call 555 0100'); // too short
    expect(redactCardNumbers({ amount: 4242424242424242 })).toEqual({ amount: 4242424242424242 }); // not text
  });

  it('leaves identifiers alone even when they hide a Luhn-valid run of digits', () => {
    const ids = [
      'pay_4242-4242-4242-4242',
      '123e4567-e89b-12d3-a456-426614174000',
      'ord4242424242424242',
      '4242424242424242x',
    ];
    for (const id of ids) expect(redactCardNumbers(id)).toBe(id);
    expect(redactCardNumbers('pan: 4242424242424242.')).toBe('pan: •••• 4242.');
  });

  it('walks objects and arrays without changing the input', () => {
    const input = { a: ['x 4242424242424242'], b: { c: '4000 0000 0000 0002' }, d: null, e: true };
    const frozen = JSON.parse(JSON.stringify(input));
    const out = redactCardNumbers(input);
    expect(out).toEqual({ a: ['x •••• 4242'], b: { c: '•••• 0002' }, d: null, e: true });
    expect(input).toEqual(frozen);
  });

  it('never leaves a Luhn-valid 16-digit number in any string (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
        fc.stringMatching(/^[1-9]\d{14}$/),
        fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
        (before, prefix, after) => {
          const pan = luhnComplete(prefix);
          const text = `${before.replace(/\d/g, 'x')} ${pan} ${after.replace(/\d/g, 'x')}`;
          const out = redactCardNumbers({ note: text }).note;
          expect(out).not.toContain(pan);
          expect(out).toContain(`•••• ${pan.slice(-4)}`);
        },
      ),
      { numRuns: 200 },
    );
  });
});
