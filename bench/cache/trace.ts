/**
 * The OLTP block trace of the ARC paper (N. Megiddo and D. S. Modha, "ARC: A Self-Tuning, Low Overhead
 * Replacement Cache", FAST 2003), shipped beside the project at `../shared/data/arc-oltp.lis.gz`.
 *
 * Format: one request run per line, `start count ignored request_no`; each line expands to `count`
 * accesses of consecutive block ids from `start`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** Where the trace is: `../shared/data` from the repository root, resolved from this file. */
export const TRACE_PATH = fileURLToPath(new URL('../../../shared/data/arc-oltp.lis.gz', import.meta.url));

/** LRU hit ratios (%) from an independent simulation, as published in `../shared/README.md`. */
export const LRU_REFERENCE: ReadonlyMap<number, number> = new Map([
  [1_000, 32.83],
  [2_000, 42.47],
  [5_000, 53.65],
  [10_000, 60.7],
  [15_000, 64.63],
]);

/** Accesses and distinct blocks the README gives for the whole trace. */
export const TRACE_ACCESSES = 914_145;
export const TRACE_BLOCKS = 186_880;

/** The expanded access sequence (block ids). */
export function loadTrace(path = TRACE_PATH): Uint32Array {
  if (!existsSync(path)) {
    throw new Error(`trace not found at ${path}: the shared folder must sit beside the repository (../shared)`);
  }
  const text = gunzipSync(readFileSync(path)).toString('latin1');
  const out: number[] = [];
  let start = 0;
  for (let lineStart = 0; lineStart < text.length; ) {
    let end = text.indexOf('\n', lineStart);
    if (end === -1) end = text.length;
    const line = text.slice(lineStart, end).trim();
    lineStart = end + 1;
    if (line.length === 0) continue;
    const fields = line.split(/\s+/);
    start = Number(fields[0]);
    const count = Number(fields[1]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || count < 1) {
      throw new Error(`bad trace line ${JSON.stringify(line)}`);
    }
    for (let i = 0; i < count; i++) out.push(start + i);
  }
  return Uint32Array.from(out);
}

/** Distinct ids in a trace. */
export function distinct(trace: Uint32Array): number {
  return new Set(trace).size;
}
