/**
 * Periodically removes gateways that stopped heartbeating: their registry entry and their
 * stream (which nobody reads any more and which would otherwise hold memory until Redis
 * restarts). Running it on several workers at once is harmless: the script is atomic.
 */

import { backoffDelay, sleep } from '@orders/contract';
import type { RedisClient, ShardedKeys } from '@orders/contract/redis';
import { keyGroups, reapGateways } from '@orders/contract/redis';
import type { Logger } from 'pino';
import type { WorkerMetrics } from './metrics.ts';

export interface ReaperOptions {
  redis: RedisClient;
  /** The namespace's keys, or its shard groups' keys: each group's registry is swept on its own. */
  keys: ShardedKeys;
  logger: Logger;
  metrics?: WorkerMetrics;
  gatewayTtlMs: number;
  /** Pause between sweeps. Default: a quarter of the TTL (at most one second), so a dead stream lingers little past it. */
  intervalMs?: number;
  signal: AbortSignal;
}

/** Runs until `signal` aborts; the returned promise settles then. */
export async function runGatewayReaper(options: ReaperOptions): Promise<void> {
  const { redis, signal, gatewayTtlMs } = options;
  const groups = keyGroups(options.keys);
  const logger = options.logger.child({ component: 'gateway-reaper' });
  const intervalMs = options.intervalMs ?? Math.min(1_000, Math.max(50, Math.floor(gatewayTtlMs / 4)));
  let failures = 0;
  while (!signal.aborted) {
    try {
      for (const [group, groupKeys] of groups.entries()) {
        const reaped = await reapGateways(redis, groupKeys, gatewayTtlMs);
        if (reaped.length > 0) {
          options.metrics?.gatewaysReaped.inc(reaped.length);
          logger.info(
            groups.length > 1 ? { gateways: reaped, group } : { gateways: reaped },
            'removed silent gateways and their streams',
          );
        }
      }
      failures = 0;
      await sleep(intervalMs, signal);
    } catch (error) {
      logger.error({ err: error }, 'reaping gateways failed');
      await sleep(backoffDelay(failures++, intervalMs, 30_000), signal);
    }
  }
}
