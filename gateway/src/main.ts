import { shardKeys } from '@orders/contract/redis';
import { connectRedis, createRedisConnection, redisTarget } from '@orders/redis';
import postgres from 'postgres';
import { createAuthorize, devTokenRoutes } from './auth/index.ts';
import { nodeHs256 } from './auth/node-hs256.ts';
import { type AuthSettings, authSettings, loadEnv } from './env.ts';
import { normalizeAddress } from './limits/client-address.ts';
import { ConnectionCaps } from './limits/connection-caps.ts';
import { createLogger } from './logger.ts';
import { startNodeGateway } from './node-server.ts';
import { metricsSettings } from './ops/metrics-settings.ts';
import { describeReplicaIdentity, readReplicaIdentity } from './snapshot/replica-identity.ts';
import { SnapshotScheduler } from './snapshot/snapshot-scheduler.ts';

const env = loadEnv();
const logger = createLogger(env.GATEWAY_ID, env.LOG_LEVEL, env.LOG_FORMAT);
// Before any connection: a production gateway without a real secret must not start at all.
let auth: AuthSettings;
try {
  auth = authSettings(env);
} catch (error) {
  logger.fatal({ err: error }, 'refusing to start');
  process.exit(1);
}
if (auth.mode === 'development') {
  logger.warn(
    {
      mode: auth.mode,
      reason: auth.reason,
      host: auth.host,
      origins: auth.allowedOrigins,
      publicSecret: env.JWT_SECRET === undefined,
    },
    `auth mode development (${auth.reason}): GET /dev/token mints tokens for anyone who reaches ${auth.host}. Never expose it; production needs JWT_SECRET and ALLOWED_ORIGINS`,
  );
} else {
  logger.info(
    { mode: auth.mode, reason: auth.reason, host: auth.host, origins: auth.allowedOrigins },
    `auth mode production (${auth.reason}): tokens from your issuer only, no token endpoint`,
  );
}

// REDIS_CLUSTER selects a Redis Cluster, REDIS_URL (the default) one server; nothing else differs.
const target = redisTarget(env);
const redis = createRedisConnection(target, { logger, message: 'redis connection error' });
await connectRedis(redis, target, logger);
// One connection per snapshot slot: the scheduler never asks for more, so none queue inside the pool.
const sql = postgres(env.DATABASE_READER_URL, { max: env.SNAPSHOT_CONCURRENCY, onnotice: () => {} });
// What the table's replica identity means for clients, once, at start; never fatal.
await readReplicaIdentity(sql)
  .then((identity) => {
    const { level, message } = describeReplicaIdentity(identity);
    logger[level]({ replicaIdentity: identity ?? null }, message);
  })
  .catch((error: unknown) => logger.warn({ err: error }, 'could not read the replica identity of orders'));
const metrics = metricsSettings(env, auth.mode);
if (metrics.main.mode === 'off' && metrics.listener === undefined) {
  logger.warn('/metrics is not served: set METRICS_PORT (private listener) or METRICS_TOKEN to enable it');
}

const gateway = await startNodeGateway({
  gatewayId: env.GATEWAY_ID,
  keys: shardKeys(env.REDIS_NS, env.REDIS_SHARDS),
  redis,
  sql,
  logger,
  port: env.PORT,
  host: auth.host,
  heartbeatIntervalMs: env.GATEWAY_HEARTBEAT_MS,
  gatewayTtlMs: env.GATEWAY_TTL_MS,
  clientHeartbeatMs: env.CLIENT_HEARTBEAT_MS,
  streamReadCount: env.STREAM_READ_COUNT,
  streamReadBlockMs: env.STREAM_READ_BLOCK_MS,
  authorize: createAuthorize({ ...auth, hs256: nodeHs256 }),
  ...(metrics.listener === undefined ? {} : { metricsListener: metrics.listener }),
  tuning: {
    maxConnections: env.MAX_CONNECTIONS,
    caps: new ConnectionCaps({
      perAddress: env.MAX_CONNECTIONS_PER_IP,
      perPrincipal: env.MAX_CONNECTIONS_PER_PRINCIPAL,
      staffTotal: env.MAX_STAFF_CONNECTIONS,
    }),
    trustedProxies: new Set(env.TRUSTED_PROXIES.map(normalizeAddress)),
    metricsAccess: metrics.main,
    snapshotScheduler: new SnapshotScheduler({
      concurrency: env.SNAPSHOT_CONCURRENCY,
      perSocket: env.SNAPSHOTS_PER_SOCKET,
      replayMaxEntries: env.REPLAY_MAX_ENTRIES,
    }),
    sharedPages: { share: env.SNAPSHOT_SHARING === 'on' },
    ...(auth.mode === 'development' ? { routes: devTokenRoutes(auth.secret, auth.allowedOrigins) } : {}),
  },
});

const stop = async (signal: string): Promise<void> => {
  logger.info({ signal }, 'signal received');
  await gateway.shutdown();
  await Promise.allSettled([redis.close(), sql.end({ timeout: 2 })]);
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
