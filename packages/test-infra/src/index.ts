export { ConnectApi } from './connect-api.ts';
export { connectKafkaAdmin, deleteTopics, ensureTopic } from './kafka-admin.ts';
export { newNamespace } from './namespace.ts';
export { slotPrefix } from './stack-id.ts';
export { type CreateTestDatabaseOptions, createTestDatabase, type TestDatabase } from './test-database.ts';
export { type CreateTestPipelineOptions, createTestPipeline, type TestPipeline } from './test-pipeline.ts';
export { type WaitForOptions, waitFor } from './wait-for.ts';
