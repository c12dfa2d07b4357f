/**
 * The one atomic Redis step per chunk of a Kafka batch: skip what is at or below the
 * partition's high-water mark, append the rest to history (auto id) and, with that same
 * id, to every live gateway stream, then raise the mark.
 *
 * Because mark check, appends and mark update run in one script, a redelivered record
 * (crash before commit, rebalance, two workers racing on a partition) can never get a
 * second id, and a gateway that registered before the call gets every entry of it.
 */
import { CHANGE_FIELD, type RedisKeys, type StreamChange } from './contract.ts';
import { luaScript, type RedisClient, runScript } from './redis.ts';

/*
 * KEYS: history, gateways, high-water hash.
 * ARGV: ttlMs, historyMaxlen, gatewayMaxlen, gateway stream prefix, mark field,
 *       offset to raise the mark to, then (offset, payload) pairs in ascending offset order.
 * Gateway streams are not in KEYS because the script discovers them; they carry the same
 * hash tag, so on a cluster they still live in this script's slot.
 * Offsets are compared as decimal strings (length first) because Lua numbers are doubles
 * and Kafka offsets are int64.
 */
const forwardScript = luaScript(`
local function above(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (now - tonumber(ARGV[1])), '+inf')
local streams = {}
for i, id in ipairs(live) do streams[i] = ARGV[4] .. id end
local mark = redis.call('HGET', KEYS[3], ARGV[5])
local ids = {#live}
for i = 7, #ARGV, 2 do
  if not mark or above(ARGV[i], mark) then
    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', '${CHANGE_FIELD}', ARGV[i + 1])
    for _, s in ipairs(streams) do
      redis.call('XADD', s, 'MAXLEN', '~', ARGV[3], id, '${CHANGE_FIELD}', ARGV[i + 1])
    end
    ids[#ids + 1] = id
  end
end
if not mark or above(ARGV[6], mark) then redis.call('HSET', KEYS[3], ARGV[5], ARGV[6]) end
return ids
`);

export interface ForwardOptions {
  /** Gateways silent for longer than this get nothing. */
  gatewayTtlMs: number;
  /** Approximate cap of the shared history stream (`MAXLEN ~`). */
  historyMaxlen: number;
  /** Approximate cap of each gateway stream (`MAXLEN ~`). */
  gatewayMaxlen: number;
}

export interface ForwardResult {
  /** Stream ids given to the forwarded changes, in order; they are the last `ids.length` inputs. */
  ids: string[];
  /** Inputs at or below the mark (already in Redis). */
  skipped: number;
  /** Gateway streams each forwarded change was appended to. */
  gateways: number;
}

export interface Forwarder {
  /**
   * Appends `changes` (all from `topic`/`partition`, ascending offsets) and raises the mark
   * to `throughOffset`, which may lie past the last change when the chunk ended in records
   * that were dead-lettered or ignored.
   */
  forward(
    topic: string,
    partition: number,
    throughOffset: string,
    changes: readonly StreamChange[],
  ): Promise<ForwardResult>;
}

/**
 * The mark's field in `{ns}:hwm`. Offsets only mean something within one incarnation of a
 * Kafka cluster: a recreated cluster (fresh KRaft storage) restarts every partition at 0, and
 * a mark kept from the old one would skip every new record up to it. Prefixing the cluster id
 * makes the old marks unreachable instead. (A topic recreated within the same cluster keeps
 * the field; {@link dropStaleMark} handles that.)
 */
export function markField(clusterId: string, topic: string, partition: number): string {
  return `${clusterId}/${topic}:${partition}`;
}

/*
 * Reading through a script keeps RedisClient down to the eval methods every caller (and the
 * fault-injecting test wrapper) already provides.
 */
const readMarkScript = luaScript(`return redis.call('HGET', KEYS[1], ARGV[1])`);

/** The partition's high-water mark, or null when nothing was forwarded from it yet. */
export async function readMark(redis: RedisClient, keys: RedisKeys, field: string): Promise<string | null> {
  const mark = await runScript(redis, readMarkScript, [keys.highWater], [field]);
  return typeof mark === 'string' ? mark : null;
}

/*
 * Compare-and-delete: during a rebalance the previous owner of the partition may still be
 * forwarding. If it already reset the mark and forwarded new records, the field holds a new,
 * legitimate value that must stay; only the exact stale value seen by the caller is removed.
 */
const dropMarkScript = luaScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`);

/** Deletes the mark only if it still equals `stale`; true when it was deleted. */
export async function dropStaleMark(
  redis: RedisClient,
  keys: RedisKeys,
  field: string,
  stale: string,
): Promise<boolean> {
  return Number(await runScript(redis, dropMarkScript, [keys.highWater], [field, stale])) === 1;
}

/** `a >= b` for non-negative decimal offsets (int64 does not fit a double). */
export function offsetAtLeast(a: string, b: string): boolean {
  return BigInt(a) >= BigInt(b);
}

export function createForwarder(
  redis: RedisClient,
  keys: RedisKeys,
  options: ForwardOptions,
  /** Kafka cluster id (`admin.describeCluster()`), part of every mark field. */
  clusterId: string,
): Forwarder {
  const fixedKeys = [keys.history, keys.gateways, keys.highWater];
  const prefix = keys.gatewayStream('');
  return {
    async forward(topic, partition, throughOffset, changes) {
      const args = [
        String(options.gatewayTtlMs),
        String(options.historyMaxlen),
        String(options.gatewayMaxlen),
        prefix,
        markField(clusterId, topic, partition),
        throughOffset,
      ];
      for (const change of changes) args.push(change.kafka.offset, JSON.stringify(change));
      const reply = (await runScript(redis, forwardScript, fixedKeys, args)) as [number, ...string[]];
      const [gateways, ...ids] = reply;
      return { ids, skipped: changes.length - ids.length, gateways: Number(gateways) };
    },
  };
}
