/**
 * How the worker and the gateways reach Redis: one server (`REDIS_URL`) or a Redis Cluster
 * through some of its nodes (`REDIS_CLUSTER`), from the same code. Every key carries one hash
 * tag (see contract.ts), so on a cluster every command and script of a namespace goes to the
 * one master owning that slot; node-redis follows MOVED/ASK and refreshes the topology itself.
 */

import { backoffDelay, sleep } from '@orders/contract';
import type { Logger } from 'pino';
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';
import { z } from 'zod';

export type RedisTarget = { kind: 'single'; url: string } | { kind: 'cluster'; seeds: string[] };

/** What `createClient()` or `createCluster()` return with defaults (RESP3). */
export type RedisConnection = RedisClientType | RedisClusterType;

/**
 * `REDIS_CLUSTER`: comma-separated `redis://host:port` of some cluster nodes (the client learns
 * the rest from them). Empty counts as unset.
 */
export const redisClusterSeeds = z
  .string()
  .optional()
  .transform((value) => {
    const seeds = value
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return seeds === undefined || seeds.length === 0 ? undefined : seeds;
  })
  .pipe(
    z
      .array(z.url({ protocol: /^rediss?$/, error: 'each seed must be a redis:// or rediss:// URL' }))
      .optional(),
  );

/**
 * Both set is a configuration mistake (which one was meant?), so it is refused rather than one
 * silently winning. Checked on the raw environment, where an explicit REDIS_URL is visible.
 */
export function redisSelectionError(source: Record<string, string | undefined>): string | undefined {
  if (source.REDIS_URL === undefined || !source.REDIS_CLUSTER?.trim()) return undefined;
  return 'set REDIS_URL (one Redis server) or REDIS_CLUSTER (seed nodes of a Redis Cluster), not both';
}

export function redisTarget(env: { REDIS_URL: string; REDIS_CLUSTER?: string[] | undefined }): RedisTarget {
  return env.REDIS_CLUSTER === undefined
    ? { kind: 'single', url: env.REDIS_URL }
    : { kind: 'cluster', seeds: env.REDIS_CLUSTER };
}

export function describeTarget(target: RedisTarget): string {
  return target.kind === 'single' ? target.url : `cluster via ${target.seeds.join(',')}`;
}

export function isCluster(redis: RedisConnection): redis is RedisClusterType {
  return 'masters' in redis;
}

export interface RedisLogging {
  logger: Logger;
  /** The log line of every connection error. */
  message: string;
  /** @default 'warn' */
  level?: 'warn' | 'error';
}

/**
 * Logs every connection error (without a listener node-redis would throw on each reconnect
 * attempt). A cluster reports its nodes' errors separately, with the node's address: those
 * are the ones that say which master is gone.
 */
export function logRedisErrors(
  redis: RedisConnection,
  { logger, message, level = 'warn' }: RedisLogging,
): void {
  redis.on('error', (error: unknown) => logger[level]({ err: error }, message));
  if (isCluster(redis))
    redis.on('node-error', (error: unknown, node: { host?: string; port?: number }) =>
      logger[level]({ err: error, node: `${node.host}:${node.port}` }, message),
    );
}

/** A new client for `target`, errors logged, not yet connected. */
export function createRedisConnection(target: RedisTarget, logging: RedisLogging): RedisConnection {
  if (target.kind === 'single') {
    const redis = createClient({ url: target.url });
    logRedisErrors(redis, logging);
    return redis;
  }
  const cluster = createCluster({ rootNodes: target.seeds.map((url) => ({ url })) });
  logRedisErrors(cluster, logging);
  // A cluster client stays "ready" once it knows the topology, even with a master gone. The
  // services report ready (/readyz) from `isReady`, so on a cluster it means what it means for
  // one server: every connection, here one per master, is up.
  Object.defineProperty(cluster, 'isReady', {
    get: () =>
      cluster.masters.length > 0 && cluster.masters.every((master) => master.client?.isReady === true),
  });
  return cluster;
}

/**
 * Connects like a single client does on its own: waiting (and logging) until Redis answers.
 * A single client retries inside `connect()`; a cluster's `connect()` fails at once when no
 * seed answers, and commands fail with CLUSTERDOWN while a restarted node rejoins, so a
 * cluster counts as connected once every master reports `cluster_state:ok`. Retried with
 * backoff; gives up (throws) once `signal` aborts.
 */
export async function connectRedis(
  redis: RedisConnection,
  target: RedisTarget,
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (!redis.isOpen) await redis.connect();
      if (isCluster(redis)) await assertClusterOk(redis);
      logger.info({ redis: describeTarget(target) }, 'redis connected');
      return;
    } catch (error) {
      logger.warn({ err: error, redis: describeTarget(target) }, 'redis not ready; retrying');
      await sleep(backoffDelay(attempt, 200, 5_000), signal);
      if (signal?.aborted) throw error;
    }
  }
}

async function assertClusterOk(redis: RedisClusterType): Promise<void> {
  for (const master of redis.masters) {
    const info = String(await (await redis.nodeClient(master)).sendCommand(['CLUSTER', 'INFO']));
    const state = /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
    if (state !== 'ok') throw new Error(`cluster_state is ${state} on ${master.address}`);
  }
}
