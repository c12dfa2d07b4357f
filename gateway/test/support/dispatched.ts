import { GATEWAY_GROUP } from '@orders/contract/redis';
import { compareStreamIds } from '@orders/test-harness';
import type { RedisClient } from '../../src/stream/redis-client.ts';
import { until } from './wait.ts';

/**
 * Waits until a gateway has handed `id` (and everything before it on its stream) to its
 * subscriptions: the gateway acknowledges an entry only after dispatching it, so the group
 * has read past `id` with nothing up to it still pending.
 */
export async function untilDispatched(redis: RedisClient, stream: string, id: string): Promise<void> {
  await until(async () => {
    const [group] = (await redis.xInfoGroups(stream)) as unknown as { 'last-delivered-id': string }[];
    if (group === undefined || compareStreamIds(group['last-delivered-id'], id) < 0) return false;
    return (await redis.xPendingRange(stream, GATEWAY_GROUP, '-', id, 1)).length === 0;
  }, 'the gateway to hand the changes to its subscriptions');
}
