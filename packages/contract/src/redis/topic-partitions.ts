/**
 * The number of partitions of the pipeline's Kafka topic, which the worker knows and the
 * gateways need: a gateway can only tell that no change older than a WAL position can still
 * arrive once every partition has delivered one past it (see the gateway's `SourceProgress`).
 * The worker writes it into every shard group's {@link RedisKeys.partitions} when it starts
 * and whenever it joins its group (partitions may have been added); gateways read it with
 * their heartbeats. A namespace without it (no worker has started since) reads as 0: unknown.
 */
import { keyGroups, type RedisKeys, type ShardedKeys } from './layout.ts';
import { luaScript, type RedisClient, runScript } from './lua.ts';

const setScript = luaScript(`
redis.call('SET', KEYS[1], ARGV[1])
return 1
`);

const getScript = luaScript(`
return redis.call('GET', KEYS[1])
`);

export async function publishPartitionCount(
  redis: RedisClient,
  keys: ShardedKeys,
  count: number,
): Promise<void> {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`not a partition count: ${count}`);
  for (const group of keyGroups(keys)) await runScript(redis, setScript, [group.partitions], [String(count)]);
}

/** The topic's partition count as the worker last wrote it; 0 when none was written. */
export async function readPartitionCount(redis: RedisClient, keys: RedisKeys): Promise<number> {
  const reply = await runScript(redis, getScript, [keys.partitions], []);
  const count = typeof reply === 'string' ? Number(reply) : 0;
  return Number.isSafeInteger(count) && count > 0 ? count : 0;
}
