import type { RedisClientType } from 'redis';

/** The node-redis client the gateway is given: what `createClient()` returns with defaults (RESP3). */
export type RedisClient = RedisClientType;
