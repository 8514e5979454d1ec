/**
 * What the exported store contract suites (`runCacheStoreContract`, `runSagaLogContract`, …) need from a
 * test runner: a way to register a named test. Pass your runner's `it` or `test` (vitest, jest, mocha,
 * `node:test`); the suites assert with `node:assert/strict`, so the package ships no test framework.
 *
 * @example
 * ```ts
 * import { test } from 'node:test';
 * import type { ContractTest } from 'system-design-blocks';
 *
 * const register: ContractTest = (name, fn) => test(name, fn);
 * ```
 */
export type ContractTest = (name: string, fn: () => Promise<void> | void) => void;
