import { redisKeys } from '@orders/worker/contract';
import postgres from 'postgres';
import { createClient } from 'redis';
import { loadEnv } from './env.ts';
import { createLogger } from './logger.ts';
import { startNodeGateway } from './node-server.ts';

const env = loadEnv();
const logger = createLogger(env.GATEWAY_ID, env.LOG_LEVEL);

const redis = createClient({ url: env.REDIS_URL });
redis.on('error', (error: unknown) => logger.warn({ err: error }, 'redis connection error'));
await redis.connect();
const sql = postgres(env.DATABASE_READER_URL, { max: 4, onnotice: () => {} });

const gateway = await startNodeGateway({
  gatewayId: env.GATEWAY_ID,
  keys: redisKeys(env.REDIS_NS),
  redis,
  sql,
  logger,
  port: env.PORT,
  host: env.HOST,
  heartbeatIntervalMs: env.GATEWAY_HEARTBEAT_MS,
  clientHeartbeatMs: env.CLIENT_HEARTBEAT_MS,
});

const stop = async (signal: string): Promise<void> => {
  logger.info({ signal }, 'signal received');
  await gateway.shutdown();
  await Promise.allSettled([redis.close(), sql.end({ timeout: 2 })]);
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
