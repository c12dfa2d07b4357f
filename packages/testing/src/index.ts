export { devToken } from './dev-token.ts';
export { envPairs } from './env-pairs.ts';
export { freePort, type GatewayProcess, spawnGateway } from './gateway-process.ts';
export { newNamespace } from './namespace.ts';
export { order, orderAt } from './order-fixture.ts';
export { type CreateTestDatabaseOptions, createTestDatabase, type TestDatabase } from './test-database.ts';
export { type CreateTestPipelineOptions, createTestPipeline, type TestPipeline } from './test-pipeline.ts';
export { type WaitForOptions, waitFor } from './wait-for.ts';
