/**
 * Process entry: the only module that reads the environment (via env.ts), opens ports and
 * handles signals. Everything else is built by factories so tests can assemble it too.
 */
import { serve } from '@hono/node-server';
import { shardKeys } from '@orders/contract/redis';
import { connectRedis, createRedisConnection, isCluster, redisTarget } from '@orders/redis';
import { createWorker } from './consumer.ts';
import { loadEnv } from './env.ts';
import { createHttpApp } from './http.ts';
import { createKafka } from './kafka.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { runGatewayReaper } from './reaper.ts';

const env = loadEnv();
const logger = createLogger(env.LOG_LEVEL, env.LOG_FORMAT);
const shutdown = new AbortController();

// REDIS_CLUSTER selects a Redis Cluster, REDIS_URL (the default) one server; nothing else differs.
const target = redisTarget(env);
const redis = createRedisConnection(target, { logger, message: 'redis error', level: 'error' });
await connectRedis(redis, target, logger, shutdown.signal);

// One key group per shard group (one, the single-tag layout, unless REDIS_SHARDS says more).
const keys = shardKeys(env.REDIS_NS, env.REDIS_SHARDS);
const metrics = createMetrics();
const worker = createWorker({
  kafka: createKafka(env.KAFKA_BROKERS, env.KAFKA_CLIENT_ID, logger),
  redis,
  keys,
  logger,
  metrics,
  signal: shutdown.signal,
  // env.ts refuses REDIS_WAIT_REPLICAS on a cluster: WAIT covers one primary's writes.
  replicas:
    env.REDIS_WAIT_REPLICAS > 0 && !isCluster(redis)
      ? {
          count: env.REDIS_WAIT_REPLICAS,
          timeoutMs: env.REDIS_WAIT_TIMEOUT_MS,
          wait: async (count, timeoutMs) =>
            Number(await redis.sendCommand(['WAIT', String(count), String(timeoutMs)])),
        }
      : undefined,
  config: {
    topic: env.ORDERS_TOPIC,
    groupId: env.KAFKA_GROUP,
    dlqTopic: env.DLQ_TOPIC,
    chunkSize: env.FORWARD_CHUNK,
    fetchMinBytes: env.KAFKA_FETCH_MIN_BYTES,
    fetchMaxWaitMs: env.KAFKA_FETCH_MAX_WAIT_MS,
    sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
    partitionsConcurrency: env.KAFKA_PARTITIONS_CONCURRENCY,
    commitIntervalMs: env.KAFKA_COMMIT_INTERVAL_MS,
    forward: {
      gatewayTtlMs: env.GATEWAY_TTL_MS,
      historyMaxlen: env.HISTORY_MAXLEN,
      gatewayMaxlen: env.GATEWAY_MAXLEN,
    },
  },
});

const reaper = runGatewayReaper({
  redis,
  keys,
  logger,
  metrics,
  gatewayTtlMs: env.GATEWAY_TTL_MS,
  signal: shutdown.signal,
});

const app = createHttpApp({ registry: metrics.registry, isReady: worker.isReady });
const server = serve({ fetch: app.fetch, port: env.WORKER_PORT, hostname: env.WORKER_HOST }, (info) =>
  logger.info({ port: info.port }, 'http listening'),
);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    shutdown.abort();
  });
}

let exitCode = 0;
try {
  await worker.start();
  await worker.done;
} catch (error) {
  // kafkajs gave up (or never connected): exit non-zero so the supervisor restarts us.
  logger.fatal({ err: error }, 'worker failed');
  exitCode = 1;
}
shutdown.abort();
await worker.stop().catch(() => {});
await reaper;
server.close();
await redis.close();
logger.info({ exitCode }, 'stopped');
process.exit(exitCode);
