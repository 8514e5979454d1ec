/**
 * Runs the benchmarks: `npm run bench` (all), `npm run bench -- sharding cache` (some), `--quick` (each case
 * briefly, for CI: proves they run, writes nothing under bench/results). Full runs write
 * `bench/results/<name>.json`.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeBenchmarkReport } from '../scripts/bench-report.js';
import { fmt, machine } from './lib/harness.js';
import type { Benchmark, BenchReport, ResultTable } from './lib/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const strict = args.includes('--strict');
const wanted = args.filter((a) => !a.startsWith('--'));

const available = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(here, d.name, 'index.ts')) && d.name !== 'lib')
  .map((d) => d.name)
  .sort();

if (args.includes('--list')) {
  for (const name of available) console.log(name);
  process.exit(0);
}
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? wanted : available;

function printTable(table: ResultTable): void {
  const cells = [table.columns, ...table.rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: readonly (string | number)[]): string =>
    r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join('  ');
  console.log(`\n  ${table.title}`);
  console.log(`  ${line(cells[0] as readonly string[])}`);
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of cells.slice(1)) console.log(`  ${line(r)}`);
}

let failedTargets = 0;
let crashed = 0;
for (const [i, name] of selected.entries()) {
  console.log(`\n[${i + 1}/${selected.length}] ${name}${quick ? ' (quick)' : ''}`);
  const started = Date.now();
  try {
    const mod = (await import(pathToFileURL(join(here, name, 'index.ts')).href)) as { benchmark: Benchmark };
    const report: BenchReport = await mod.benchmark.run({
      quick,
      log: (line) => console.log(`  · ${line}`),
    });
    for (const table of report.tables) printTable(table);
    if (report.targets.length > 0) {
      console.log('\n  targets');
      for (const t of report.targets) {
        if (!t.pass) failedTargets++;
        console.log(`  ${t.pass ? 'ok  ' : 'MISS'} ${t.name}: ${fmt(t.value)} (target ${t.target})`);
      }
    }
    if (!quick) {
      const out = join(here, 'results', `${name}.json`);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify({ name, machine: machine(), ...report }, null, 2)}\n`);
      console.log(`\n  wrote ${out}`);
    }
    console.log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error: unknown) {
    crashed++;
    console.error(`  FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

if (!quick) await writeBenchmarkReport();

if (crashed > 0) {
  console.error(`\n${crashed} benchmark(s) crashed`);
  process.exit(1);
}
if (failedTargets > 0) {
  console.log(`\n${failedTargets} target(s) missed in this run${quick ? ' (quick mode: not meaningful)' : ''}`);
  if (strict && !quick) process.exit(1);
}
