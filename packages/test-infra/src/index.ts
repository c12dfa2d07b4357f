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
export { ConnectApi } from './connect-api.ts';
export { envPairs } from './env-pairs.ts';
export { connectKafkaAdmin, deleteTopics, ensureTopic } from './kafka-admin.ts';
export { dropRedisNamespace, type NamespaceRedis, newNamespace } from './namespace.ts';
export { slotPrefix } from './stack-id.ts';
export { type CreateTestDatabaseOptions, createTestDatabase, type TestDatabase } from './test-database.ts';
export { type CreateTestPipelineOptions, createTestPipeline, type TestPipeline } from './test-pipeline.ts';
export { type WaitForOptions, waitFor } from './wait-for.ts';
