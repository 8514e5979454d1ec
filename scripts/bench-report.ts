/**
 * Writes `docs/benchmarks.md` and its charts (`docs/benchmarks/*.svg`, rendered server-side by vega-lite)
 * from `bench/results/*.json`. `npm run bench` runs it after the benchmarks; `npm run bench:report` alone
 * rebuilds the page from the stored results.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { BenchReport, ResultTable } from '../bench/lib/types.js';

const root = resolve(import.meta.dirname, '..');
const resultsDir = join(root, 'bench', 'results');
const chartsDir = join(root, 'docs', 'benchmarks');

interface StoredResult extends BenchReport {
  readonly name: string;
  readonly machine: { node: string; cpu: string; cores: number; platform: string; date: string };
}

type Row = Record<string, string | number>;

/** The blocks in the order the README lists them. */
const ORDER = ['sharding', 'cache', 'resilience', 'saga', 'idempotency', 'inventory'];

function readResults(): StoredResult[] {
  if (!existsSync(resultsDir)) return [];
  return readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as StoredResult)
    .sort((a, b) => rank(a.name) - rank(b.name));
}

function rank(name: string): number {
  const i = ORDER.indexOf(name);
  return i === -1 ? ORDER.length : i;
}

function cell(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
    return Number(value.toPrecision(3)).toString();
  }
  return value.replaceAll('|', '\\|');
}

function markdownTable(table: ResultTable): string {
  const head = `| ${table.columns.map((c) => cell(c)).join(' | ')} |`;
  const rule = `| ${table.columns.map(() => '---').join(' | ')} |`;
  const rows = table.rows.map((r) => `| ${r.map(cell).join(' | ')} |`);
  return [`**${table.title}**`, '', head, rule, ...rows].join('\n');
}

function findTable(result: StoredResult | undefined, titleStart: string): ResultTable | undefined {
  return result?.tables.find((t) => t.title.toLowerCase().startsWith(titleStart.toLowerCase()));
}

function rowsOf(table: ResultTable): Row[] {
  return table.rows.map((r) => Object.fromEntries(table.columns.map((c, i) => [c, r[i] ?? ''])));
}

function num(value: string | number | undefined): number {
  return typeof value === 'number' ? value : Number.parseFloat(String(value ?? '').replaceAll(',', ''));
}

async function renderChart(file: string, spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile({ ...spec, config: { font: 'sans-serif', ...(spec.config ?? {}) } } as vl.TopLevelSpec);
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  mkdirSync(chartsDir, { recursive: true });
  writeFileSync(join(chartsDir, file), svg);
  return `benchmarks/${file}`;
}

/** One chart per block where the results carry the data for it; each returns markdown or nothing. */
const charts: Record<string, (result: StoredResult) => Promise<string | undefined>> = {
  async sharding(result) {
    const table = findTable(result, 'Load spread');
    if (!table) return undefined;
    const values = rowsOf(table).map((r) => ({
      nodes: `${r.nodes} nodes`,
      router: String(r.router),
      spread: num(r['std dev %']),
    }));
    const path = await renderChart('sharding-load-spread.svg', {
      title: 'Load spread: std dev of keys per node, % of the mean (lower is more even)',
      data: { values },
      mark: 'bar',
      width: 160,
      encoding: {
        column: { field: 'nodes', type: 'ordinal', title: null },
        x: { field: 'router', type: 'nominal', title: null, axis: { labelAngle: -40 } },
        y: { field: 'spread', type: 'quantitative', title: 'std dev % of mean' },
        color: { field: 'router', type: 'nominal', legend: null },
      },
    });
    return `![Load spread per sharding strategy](${path})`;
  },
  async cache(result) {
    const table = findTable(result, 'LRU hit ratio');
    if (!table) return undefined;
    const values = rowsOf(table).flatMap((r) => [
      { entries: num(r.entries), series: 'Cache (this library)', hit: num(r['Cache %']) },
      { entries: num(r.entries), series: 'LRU reference (independent simulation)', hit: num(r['reference %']) },
    ]);
    const path = await renderChart('cache-hit-ratio.svg', {
      title: 'Hit ratio on the ARC OLTP trace vs cache entries',
      data: { values },
      width: 420,
      height: 240,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'entries', type: 'quantitative', title: 'entries' },
        y: { field: 'hit', type: 'quantitative', title: 'hit ratio %', scale: { zero: false } },
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
        strokeDash: { field: 'series', type: 'nominal' },
      },
    });
    return `![Cache hit ratio vs entries on the OLTP trace](${path})`;
  },
  async resilience(result) {
    // Each policy alone (this block), then the breaker and the full pipeline next to opossum and cockatiel.
    const groups: [string, string][] = [
      ['Each policy alone', 'each policy, this block'],
      ['Breaker alone', 'breaker vs peers'],
      ['Full pipeline', 'full pipeline vs peers'],
    ];
    const values = groups.flatMap(([title, group]) => {
      const table = findTable(result, title);
      if (!table) return [];
      const nsColumn = table.columns.find((c) => c.startsWith('ns/')) ?? 'ns/call';
      return rowsOf(table).map((r) => ({ group, case: String(r.case), ns: num(r[nsColumn]) }));
    });
    if (values.length === 0) return undefined;
    const path = await renderChart('resilience-overhead.svg', {
      title: 'Success-path cost per call, ns (lower is better)',
      data: { values },
      facet: { row: { field: 'group', type: 'nominal', title: null, sort: groups.map(([, g]) => g) } },
      resolve: { scale: { x: 'independent', y: 'independent' } },
      spec: {
        width: 420,
        mark: 'bar',
        encoding: {
          y: { field: 'case', type: 'nominal', title: null, sort: '-x', axis: { labelLimit: 320 } },
          x: { field: 'ns', type: 'quantitative', title: 'ns per call' },
          color: { field: 'group', type: 'nominal', legend: null },
        },
      },
    });
    return `![Per-call overhead of each resilience policy, and of the breaker and pipeline vs opossum and cockatiel](${path})`;
  },
  async inventory(result) {
    const table = findTable(result, 'reservations/s');
    if (!table) return undefined;
    const values = rowsOf(table).flatMap((r) => [
      { workload: String(r.workload), impl: 'Inventory', rate: num(r.Inventory) },
      { workload: String(r.workload), impl: 'async-mutex baseline', rate: num(r['mutex baseline']) },
    ]);
    const path = await renderChart('inventory-throughput.svg', {
      title: 'Reservations per second vs a mutex-guarded baseline',
      data: { values },
      width: 140,
      mark: 'bar',
      encoding: {
        column: { field: 'workload', type: 'nominal', title: null },
        x: { field: 'impl', type: 'nominal', title: null, axis: { labelAngle: -30 } },
        y: { field: 'rate', type: 'quantitative', title: 'reservations/s' },
        color: { field: 'impl', type: 'nominal', legend: null },
      },
    });
    return `![Inventory throughput vs the mutex baseline](${path})`;
  },
};

/** Rebuilds `docs/benchmarks.md` and its charts from the stored results. */
export async function writeBenchmarkReport(): Promise<void> {
  const results = readResults();
  const parts: string[] = [
    '---',
    'title: Benchmarks',
    '---',
    '',
    '# Benchmarks',
    '',
    'Generated by `npm run bench` from `bench/results/*.json`; do not edit by hand. Each block is measured',
    'against the peer a user would pick instead, in the same run, and reported as ratios: the machine is',
    'shared and noisy, so absolute rates wander between runs while ratios hold. Re-run one block with',
    '`npm run bench -- <block>`.',
    '',
  ];
  for (const result of results) {
    const m = result.machine;
    parts.push(`## ${result.name}`, '');
    parts.push(`Measured ${m.date.slice(0, 10)} on Node ${m.node}, ${m.cores} × ${m.cpu} (${m.platform}).`, '');
    const chart = await charts[result.name]?.(result);
    if (chart) parts.push(chart, '');
    if (result.targets.length > 0) {
      parts.push('| target | measured | goal | |', '| --- | --- | --- | --- |');
      for (const t of result.targets) {
        parts.push(`| ${cell(t.name)} | ${cell(t.value)} | ${cell(t.target)} | ${t.pass ? 'met' : '**missed**'} |`);
      }
      parts.push('');
    }
    for (const table of result.tables) parts.push(markdownTable(table), '');
  }
  if (results.length === 0) parts.push('No results yet: run `npm run bench`.', '');
  writeFileSync(join(root, 'docs', 'benchmarks.md'), parts.join('\n'));
  console.log(`wrote docs/benchmarks.md (${results.length} blocks)`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await writeBenchmarkReport();
