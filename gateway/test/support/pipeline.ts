import { type RedisKeys, redisKeys } from '@orders/contract/redis';
import {
  createTestPipeline,
  type GatewayProcess,
  spawnGateway,
  type TestPipeline,
} from '@orders/test-harness';
import { type InProcessWorker, startInProcessWorker } from '@orders/worker/testing';
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
  worker: InProcessWorker;
  writer: ReturnType<typeof createSqlWriter>;
  gateways: Map<string, GatewayProcess>;
  /** `env` adds to (or overrides) the gateway's environment, e.g. its auth settings. */
  startGateway(id: string, port?: number, env?: Record<string, string>): Promise<GatewayProcess>;
  close(): Promise<void>;
}

export interface StackOptions {
  gatewayTtlMs?: number;
  /** Partitions of the change topic. @default 3 */
  partitions?: number;
  /** History and gateway stream length. @default 100000 */
  maxlen?: number;
}

export async function createStack(options: StackOptions = {}): Promise<Stack> {
  const redis = await connectRedis();
  const pipeline = await createTestPipeline({ partitions: options.partitions ?? 3 });
  const keys = redisKeys(pipeline.ns);
  const worker = await startInProcessWorker(pipeline, redis, keys, {
    ...(options.gatewayTtlMs === undefined ? {} : { gatewayTtlMs: options.gatewayTtlMs }),
    ...(options.maxlen === undefined ? {} : { maxlen: options.maxlen }),
  });
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
      await worker.stop();
      await pipeline.close();
      await dropNamespace(redis, pipeline.ns);
      await redis.close();
    },
  };
}
