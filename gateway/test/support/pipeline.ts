import { type RedisKeys, redisKeys } from '@orders/contract/redis';
import { createTestPipeline, type GatewayProcess, spawnGateway, type TestPipeline } from '@orders/testing';
import { createKafka, createMetrics, createWorker, type Worker } from '@orders/worker';
import { pino } from 'pino';
import type { RedisClient } from '../../src/stream/redis-client.ts';
import { connectRedis, dropNamespace } from './services.ts';
import { createSqlWriter } from './sql-writer.ts';

/**
 * The whole path for one suite: its own database, connector and topic (createTestPipeline),
 * the real worker in-process, and gateways as real processes.
 */
export interface Stack {
  pipeline: TestPipeline;
  keys: RedisKeys;
  redis: RedisClient;
  worker: Worker;
  writer: ReturnType<typeof createSqlWriter>;
  gateways: Map<string, GatewayProcess>;
  /** `env` adds to (or overrides) the gateway's environment, e.g. its auth settings. */
  startGateway(id: string, port?: number, env?: Record<string, string>): Promise<GatewayProcess>;
  close(): Promise<void>;
}

export async function createStack(options: { gatewayTtlMs?: number } = {}): Promise<Stack> {
  const redis = await connectRedis();
  const pipeline = await createTestPipeline({ partitions: 3 });
  const keys = redisKeys(pipeline.ns);
  const logger = pino({ level: 'silent' });
  const kafka = createKafka(pipeline.kafkaBrokers, `${pipeline.ns}-worker`, logger);
  const dlq = `${pipeline.topic}.dlq`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: dlq, numPartitions: 1 }] });
  const worker = createWorker({
    kafka,
    redis,
    keys,
    logger,
    metrics: createMetrics({ processMetrics: false }),
    config: {
      topic: pipeline.topic,
      groupId: `${pipeline.ns}-worker`,
      dlqTopic: dlq,
      sessionTimeoutMs: 6_000,
      forward: {
        gatewayTtlMs: options.gatewayTtlMs ?? 5_000,
        historyMaxlen: 100_000,
        gatewayMaxlen: 100_000,
      },
    },
  });
  await worker.start();
  const deadline = Date.now() + 60_000;
  while (!worker.isReady()) {
    if (Date.now() > deadline) throw new Error('worker did not join its group');
    await new Promise((r) => setTimeout(r, 100));
  }
  const gateways = new Map<string, GatewayProcess>();
  return {
    pipeline,
    keys,
    redis,
    worker,
    writer: createSqlWriter(pipeline.sql),
    gateways,
    async startGateway(id, port, env = {}) {
      const gateway = await spawnGateway(
        id,
        { REDIS_NS: pipeline.ns, DATABASE_READER_URL: pipeline.readerUrl, LOG_LEVEL: 'info', ...env },
        port,
      );
      gateways.set(id, gateway);
      return gateway;
    },
    async close() {
      await Promise.allSettled([...gateways.values()].map((g) => g.kill('SIGTERM')));
      await worker.stop().catch(() => {});
      await admin.deleteTopics({ topics: [dlq] }).catch(() => {});
      await admin.disconnect();
      await pipeline.close();
      await dropNamespace(redis, pipeline.ns);
      await redis.close();
    },
  };
}
