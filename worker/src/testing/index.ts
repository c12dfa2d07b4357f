/**
 * `@orders/worker/testing`: what suites and benchmarks elsewhere need of the worker, and
 * nothing the worker itself runs on. The scripts are the very ones the worker runs, so a test
 * that shapes the streams writes them as the worker does.
 */
export { workerScripts } from '../scripts/index.ts';
export {
  type InProcessWorker,
  type InProcessWorkerOptions,
  startInProcessWorker,
} from './in-process-worker.ts';
export {
  createStandInForwarder,
  forwardChanges,
  type StandInForwarder,
  type WorkerRedis,
} from './stand-in.ts';
