export { parseSimulateArgs, type SimulateArgs, simulateUsage, UsageError } from './args.ts';
export { customerNames, productNames } from './names.ts';
export { type Action, planBatch, type TrackedOrder } from './plan.ts';
export {
  type SimulateOptions,
  type SimulationProgress,
  type SimulationSummary,
  simulate,
} from './simulate.ts';
export { isTerminal, nextStatus } from './transitions.ts';
