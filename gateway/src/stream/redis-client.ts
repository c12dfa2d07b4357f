import { isCluster, logRedisErrors, type RedisConnection } from '@orders/redis';
import type { Logger } from 'pino';
import type { RedisClientType } from 'redis';

/** One Redis server: what `createClient()` returns with defaults (RESP3). */
export type RedisClient = RedisClientType;

/**
 * What the gateway runs on: one server or a Redis Cluster (`createCluster()`), chosen by
 * configuration. Every command it sends carries a key of its namespace, hence one slot.
 */
export type GatewayRedis = RedisConnection;

/**
 * A connection of its own for XREADGROUP BLOCK, which holds its socket until it returns: on
 * the shared client it would stall every command queued behind it. node-redis keeps one
 * connection per cluster node, so on a cluster this is a second cluster client; it connects
 * only to the node it reads from, and follows MOVED (a slot moved, a replica promoted) itself.
 */
export async function connectBlocking(redis: GatewayRedis, logger: Logger): Promise<GatewayRedis> {
  const blocking = isCluster(redis) ? redis.duplicate({ minimizeConnections: true }) : redis.duplicate();
  logRedisErrors(blocking, { logger, message: 'blocking redis connection error' });
  await blocking.connect();
  return blocking;
}
