/**
 * The wire-protocol conformance checker: every frame a test's socket receives is held against
 * gateway/PROTOCOL.md by an implementation written apart from the gateway's, and resets and
 * closes are accepted only for the faults the test declares.
 */
export {
  assertAllClean,
  CheckedWebSocket,
  expectFaults,
  pruneCheckers,
  scopeOf,
  watchSocket,
} from './checked-socket.ts';
export {
  ConformanceChecker,
  compareStreamIds,
  everyResetReason,
  type Fault,
  type FaultDeclaration,
  type Scope,
} from './checker.ts';
