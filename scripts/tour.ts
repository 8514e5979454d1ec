/**
 * The scenario tour: `npm start` runs every example in `examples/`, `npm start -- <name> [...]` runs some,
 * `npm start -- --list` lists them. Exits non-zero when an invariant an example checks breaks.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { passed, runScenario, type Scenario, type ScenarioOutcome } from '../examples/support/scenario.js';

/** Loads every scenario in `examples/` (top-level `.ts` files that export `scenario`), sorted by name. */
export async function loadScenarios(dir = resolve(import.meta.dirname, '..', 'examples')): Promise<Scenario[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  const scenarios: Scenario[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { scenario?: Scenario };
    if (mod.scenario === undefined) throw new Error(`examples/${file} does not export a scenario`);
    scenarios.push(mod.scenario);
  }
  return scenarios.sort((a, b) => a.name.localeCompare(b.name));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const all = await loadScenarios();
  if (args.includes('--list')) {
    const width = Math.max(...all.map((s) => s.name.length));
    for (const s of all) console.log(`${s.name.padEnd(width)}  ${s.title}  [${s.blocks.join(', ')}]`);
    return;
  }
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}\navailable: ${all.map((s) => s.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const selected = names.length > 0 ? all.filter((s) => names.includes(s.name)) : all;
  const results: { scenario: Scenario; outcome: ScenarioOutcome }[] = [];
  for (const [i, scenario] of selected.entries()) {
    console.log(`\n━━ [${i + 1}/${selected.length}] ${scenario.title}`);
    console.log(`   guide: ${scenario.guide}`);
    const outcome = await runScenario(scenario, (line) => console.log(`   ${line}`));
    if (outcome.error !== undefined) {
      const e = outcome.error;
      console.error(`   ✗ crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    results.push({ scenario, outcome });
  }
  const rows = results.map(({ scenario, outcome }) => [
    passed(outcome) ? 'ok' : 'FAIL',
    scenario.name,
    scenario.blocks.join(', '),
    `${outcome.checks.filter((c) => c.ok).length}/${outcome.checks.length}`,
    `${(outcome.ms / 1000).toFixed(2)} s`,
  ]);
  const header = ['', 'scenario', 'blocks', 'checks', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '─'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  const failed = results.filter((r) => !passed(r.outcome)).length;
  console.log(`\n${results.length - failed} of ${results.length} scenarios passed every check`);
  if (failed > 0) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await main();
