/**
 * `@orders/test-harness`: what the suites and benchmarks run the real stack with and judge it by:
 * private databases, connectors, topics and namespaces on the running stack; gateway and worker
 * processes; the wire-protocol conformance checker and checked sockets; dev tokens; and the
 * benchmarks' shared options, rounds and results files. Development only. (The in-process
 * worker and its scripts are `@orders/worker/testing`.)
 */
export {
  benchLog,
  benchOptions,
  formatSpread,
  generatedBy,
  load1,
  machine,
  medianOf,
  runBench,
  type Spread,
  sleep,
  spread,
  stopChildren,
  summarize,
  until,
  writeResult,
} from './bench.ts';
export {
  assertAllClean,
  CheckedWebSocket,
  ConformanceChecker,
  compareStreamIds,
  everyResetReason,
  expectFaults,
  type Fault,
  type FaultDeclaration,
  pruneCheckers,
  type Scope,
  scopeOf,
  watchSocket,
} from './conformance/index.ts';
export { ConnectApi } from './connect-api.ts';
export { devToken } from './dev-token.ts';
export { envPairs } from './env-pairs.ts';
export { connectKafkaAdmin, deleteTopics, ensureTopic } from './kafka-admin.ts';
export { dropRedisNamespace, type NamespaceRedis, newNamespace } from './namespace.ts';
export {
  freePort,
  type GatewayProcess,
  type Service,
  type ServiceProcess,
  type SpawnOptions,
  spawnGateway,
  spawnService,
  spawnWorker,
} from './service-process.ts';
export { slotPrefix } from './stack-id.ts';
export { type CreateTestDatabaseOptions, createTestDatabase, type TestDatabase } from './test-database.ts';
export { createTestKafka } from './test-kafka.ts';
export { type CreateTestPipelineOptions, createTestPipeline, type TestPipeline } from './test-pipeline.ts';
export { type WaitForOptions, waitFor } from './wait-for.ts';
