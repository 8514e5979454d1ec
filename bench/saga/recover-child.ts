/**
 * One crash recovery in a fresh process, as after a real crash: nothing of the library has run before (cold
 * JIT, empty heap). Opens the file log given as the first argument, runs `recover()` with its defaults and
 * prints the timings as one line of JSON. Run by the saga benchmark; the process start itself is not timed.
 */
import { FileSagaLog, SagaOrchestrator } from '../../src/saga/index.js';
import { checkoutSaga, Shop } from './services.js';

const path = process.argv[2];
const expected = Number(process.argv[3]);
if (path === undefined || !Number.isSafeInteger(expected)) throw new Error('usage: recover-child.ts <log> <sagas>');

const cpuBefore = process.cpuUsage();
const t0 = performance.now();
const log = await FileSagaLog.open(path);
const t1 = performance.now();
const orchestrator = new SagaOrchestrator({ log, owner: 'recoverer', sagas: [checkoutSaga(new Shop('none'))] });
const report = await orchestrator.recover(); // as a user would call it: the default concurrency
const t2 = performance.now();
const cpu = process.cpuUsage(cpuBefore);
await log.close();
const completed = report.results.filter((r) => r.status === 'completed').length;
if (report.failed.length > 0 || completed !== expected) {
  throw new Error(`recovered ${completed} of ${expected} sagas to completed, ${report.failed.length} failed`);
}
process.stdout.write(
  `${JSON.stringify({ openMs: t1 - t0, recoverMs: t2 - t1, totalMs: t2 - t0, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`,
);
