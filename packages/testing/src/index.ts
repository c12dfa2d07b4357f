export {
  type CreateTestDatabaseOptions,
  type CreateTestPipelineOptions,
  createTestDatabase,
  createTestPipeline,
  newNamespace,
  type TestDatabase,
  type TestPipeline,
  type WaitForOptions,
  waitFor,
} from '@orders/test-infra';
export { devToken } from './dev-token.ts';
export { order, orderAt } from './order-fixture.ts';
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
export {
  createStandInForwarder,
  createTestKafka,
  type InProcessWorker,
  type InProcessWorkerOptions,
  startInProcessWorker,
  type WorkerRedis,
} from './worker-harness.ts';
