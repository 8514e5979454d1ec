import { describe, expect, it } from 'vitest';
import { naiveImplementation, processorImplementation, runPaymentHarness } from './harness.js';

describe('exactly-once harness: 1,000 keys × 20 concurrent duplicates under faults', () => {
  it('the PaymentProcessor: no double charge, every key terminal after the sweep, identical replays', async () => {
    const report = await runPaymentHarness(processorImplementation);
    const detail = JSON.stringify(report);
    expect(report.faults.timeouts).toBeGreaterThan(0);
    expect(report.faults.storeErrors).toBeGreaterThan(0);
    expect(report.faults.crashes).toBeGreaterThan(0);
    expect(report.faults.slowCalls).toBeGreaterThan(0);
    expect(report.doubleCharges, detail).toBe(0);
    expect(report.unrecordedCharges, detail).toBe(0);
    expect(report.nonTerminalKeys, detail).toBe(0);
    expect(report.replayMismatches, detail).toBe(0);
    expect(report.charges, detail).toBeGreaterThan(900);
    expect(report.passed, detail).toBe(true);
  });

  it('the same harness catches a naive check-then-insert implementation (250 keys × 20)', async () => {
    const report = await runPaymentHarness(naiveImplementation(), { keys: 250 });
    expect(report.doubleCharges, JSON.stringify(report)).toBeGreaterThan(0);
    expect(report.passed).toBe(false);
  });
});
