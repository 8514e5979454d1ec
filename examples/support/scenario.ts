/**
 * The tiny harness the examples share: a scenario prints a short narrative and checks the invariants it
 * demonstrates. Run one directly (`npx tsx examples/<file>.ts`) or through the tour (`npm start`).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One invariant a scenario checked. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/** What a scenario's `run` receives. */
export interface ScenarioContext {
  /** Prints one line of the narrative. */
  log(line?: string): void;
  /** Records an invariant; a false `ok` makes the scenario (and `npm start`) fail. */
  check(name: string, ok: boolean, detail?: string): void;
}

/** A runnable example tied to a scenario of the guide. */
export interface Scenario {
  /** Short id used by `npm start -- <name>`. */
  readonly name: string;
  /** One-line title. */
  readonly title: string;
  /** The guide scenario it demonstrates. */
  readonly guide: string;
  /** Blocks it uses (subpath names). */
  readonly blocks: readonly string[];
  run(context: ScenarioContext): Promise<void>;
}

/** Outcome of running a scenario. */
export interface ScenarioOutcome {
  readonly checks: readonly CheckResult[];
  readonly error?: unknown;
  readonly ms: number;
}

/** Runs a scenario, collecting its checks; never throws. */
export async function runScenario(scenario: Scenario, log: (line: string) => void): Promise<ScenarioOutcome> {
  const checks: CheckResult[] = [];
  const started = performance.now();
  try {
    await scenario.run({
      log: (line = '') => log(line),
      check: (name, ok, detail) => {
        checks.push({ name, ok, ...(detail === undefined ? {} : { detail }) });
        log(`${ok ? '✓' : '✗'} ${name}${detail ? ` (${detail})` : ''}`);
      },
    });
    return { checks, ms: performance.now() - started };
  } catch (error: unknown) {
    return { checks, error, ms: performance.now() - started };
  }
}

/** True when the outcome has no failed check and no error. */
export function passed(outcome: ScenarioOutcome): boolean {
  return outcome.error === undefined && outcome.checks.every((c) => c.ok);
}

/**
 * Declares a scenario. When the file is run directly (`npx tsx examples/x.ts`) it runs at once and exits
 * non-zero if an invariant breaks.
 *
 * @param moduleUrl - The example's `import.meta.url`.
 */
export function defineScenario(moduleUrl: string, scenario: Scenario): Scenario {
  const entry = process.argv[1];
  let isMain = false;
  try {
    isMain = entry !== undefined && realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    isMain = false;
  }
  if (isMain) {
    void runScenario(scenario, (line) => console.log(line)).then((outcome) => {
      if (outcome.error !== undefined) console.error(outcome.error);
      process.exitCode = passed(outcome) ? 0 : 1;
    });
  }
  return scenario;
}
