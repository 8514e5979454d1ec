/**
 * Every example in examples/ runs and every invariant it checks holds: the same scenarios `npm start` tours.
 */
import { describe, expect, it } from 'vitest';
import { passed, runScenario } from '../examples/support/scenario.js';
import { loadScenarios } from '../scripts/tour.js';

const scenarios = await loadScenarios();

describe('examples', () => {
  it('there is at least one scenario per block', () => {
    const blocks = new Set(scenarios.flatMap((s) => s.blocks));
    for (const block of ['sharding', 'cache', 'resilience', 'idempotency', 'inventory']) {
      expect(blocks.has(block), block).toBe(true);
    }
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
  });

  for (const scenario of scenarios) {
    it(`${scenario.name}: runs and every invariant it checks holds`, async () => {
      const lines: string[] = [];
      const outcome = await runScenario(scenario, (line) => lines.push(line));
      if (!passed(outcome)) {
        const failed = outcome.checks.filter((c) => !c.ok).map((c) => c.name);
        throw new Error(
          `${scenario.name} failed: ${outcome.error === undefined ? failed.join('; ') : String(outcome.error)}\n${lines.join('\n')}`,
        );
      }
      expect(outcome.checks.length).toBeGreaterThan(0);
    }, 120_000);
  }
});
