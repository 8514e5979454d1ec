/** What every `bench/<block>/index.ts` exports as `benchmark`. */

/** A table printed to the terminal and stored in the results file. */
export interface ResultTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
}

/** A target of the issue, with the value measured in this run. */
export interface TargetCheck {
  /** What is compared, e.g. `HashRing.get vs hashring (x)`. */
  readonly name: string;
  /** The measured value. */
  readonly value: number;
  /** The target as written, e.g. `>= 10`. */
  readonly target: string;
  readonly pass: boolean;
}

/** The JSON written to `bench/results/<name>.json`. */
export interface BenchReport {
  readonly tables: readonly ResultTable[];
  readonly targets: readonly TargetCheck[];
  /** Any further data a report or chart needs. */
  readonly data?: Record<string, unknown>;
}

/** Context handed to a benchmark. */
export interface BenchContext {
  /** Brief run: prove it still works; numbers are not meaningful. */
  readonly quick: boolean;
  /** Progress line. */
  log(line: string): void;
}

/** A block's benchmark. */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  run(context: BenchContext): Promise<BenchReport>;
}

/** Builds a target check: `value` compared with `bound` by `op`. */
export function target(name: string, value: number, op: '>=' | '<=' | '==', bound: number): TargetCheck {
  const pass = op === '>=' ? value >= bound : op === '<=' ? value <= bound : value === bound;
  return { name, value, target: `${op} ${bound}`, pass };
}
