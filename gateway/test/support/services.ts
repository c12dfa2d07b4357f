import { publishPartitionCount, redisKeys } from '@orders/contract/redis';
import {
  createTestDatabase,
  dropRedisNamespace,
  newNamespace,
  type TestDatabase,
} from '@orders/test-harness';
import postgres from 'postgres';
import { createClient } from 'redis';
import { createLogger } from '../../src/logger.ts';
import { type NodeGatewayOptions, type RunningGateway, startNodeGateway } from '../../src/node-server.ts';
import type { RedisClient } from '../../src/stream/redis-client.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A connected Redis client; fails (never skips) when Redis is not there. */
export async function connectRedis(): Promise<RedisClient> {
  const redis: RedisClient = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false } });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (error) {
    throw new Error(`Redis is required at ${REDIS_URL} (start the stack: npm run stack:up)`, {
      cause: error,
    });
  }
  return redis;
}

/** Deletes every key of a namespace (its keys share the `{ns}` tag). */
export const dropNamespace = (redis: RedisClient, ns: string): Promise<void> => dropRedisNamespace(redis, ns);

export interface GatewayHarness {
  ns: string;
  redis: RedisClient;
  db: TestDatabase;
  keys: ReturnType<typeof redisKeys>;
  start(gatewayId: string, overrides?: Partial<NodeGatewayOptions>): Promise<RunningGateway>;
  close(): Promise<void>;
}

/** Own Redis namespace and database per suite; gateways started in-process on free ports. */
export async function createHarness(): Promise<GatewayHarness> {
  const ns = `gwt${newNamespace()}`;
  const redis = await connectRedis();
  const db = await createTestDatabase();
  const reader = postgres(db.readerUrl, { max: 4, onnotice: () => {} });
  const keys = redisKeys(ns);
  // The stand-in workers write partition 0 only; a worker tells the gateways its topic's count.
  await publishPartitionCount(redis, keys, 1);
  const gateways: RunningGateway[] = [];
  return {
    ns,
    redis,
    db,
    keys,
    async start(gatewayId, overrides = {}) {
      const gateway = await startNodeGateway({
        gatewayId,
        keys,
        redis,
        sql: reader,
        logger: createLogger(gatewayId, process.env.LOG_LEVEL ?? 'warn'),
        port: 0,
        heartbeatIntervalMs: 500,
        ...overrides,
      });
      gateways.push(gateway);
      return gateway;
    },
    async close() {
      await Promise.allSettled(gateways.map((g) => g.shutdown()));
      await reader.end({ timeout: 2 });
      await dropNamespace(redis, ns);
      await db.drop();
      await redis.close();
    },
  };
}
