import { ORIGIN_ID } from '@orders/contract';
import { type HistoryPage, type RedisKeys, readHistoryPage } from '@orders/contract/redis';
import type { GatewayRedis } from './redis-client.ts';

export type { HistoryPage } from '@orders/contract/redis';

/**
 * The history of every shard group (one without shard groups); `group` defaults to the first.
 * Each group's history is a stream of its own with its own epoch.
 */
export interface HistoryReader {
  /** Shard groups, one history each. */
  readonly groups: number;
  /** Entries strictly after `after`, read atomically with the completeness check. */
  page(after: string, count: number, group?: number): Promise<HistoryPage>;
  /** The newest id, read before a snapshot so the snapshot is at least as new as it. */
  head(group?: number): Promise<{ epoch: string; id: string }>;
  /** Every group's head, in group order, all read before the caller's snapshot starts. */
  heads(): Promise<{ epoch: string; id: string }[]>;
  /** The current epoch (created if there is none yet). */
  epoch(group?: number): Promise<string>;
}

export function createHistoryReader(
  redis: GatewayRedis,
  historyKey: string,
  epochKey: string,
): HistoryReader {
  return createShardedHistoryReader(redis, [{ history: historyKey, epoch: epochKey }]);
}

/** A reader over every shard group's history (`keys` in group order). */
export function createShardedHistoryReader(
  redis: GatewayRedis,
  keys: readonly Pick<RedisKeys, 'history' | 'epoch'>[],
): HistoryReader {
  if (keys.length === 0) throw new Error('a history reader needs at least one group');
  const page = async (after: string, count: number, group = 0): Promise<HistoryPage> => {
    const groupKeys = keys[group];
    if (groupKeys === undefined) throw new Error(`no shard group ${group}`);
    return readHistoryPage(redis, groupKeys, after, count);
  };
  const head = async (group = 0) => {
    const { epoch, lastId } = await page(ORIGIN_ID, 0, group);
    return { epoch, id: lastId };
  };
  return {
    groups: keys.length,
    page,
    head,
    heads: () => Promise.all(keys.map((_, group) => head(group))),
    epoch: async (group = 0) => (await page(ORIGIN_ID, 0, group)).epoch,
  };
}
