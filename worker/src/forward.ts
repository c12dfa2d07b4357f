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

export function markField(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export function createForwarder(redis: RedisClient, keys: RedisKeys, options: ForwardOptions): Forwarder {
  const fixedKeys = [keys.history, keys.gateways, keys.highWater];
  const prefix = keys.gatewayStream('');
  return {
    async forward(topic, partition, throughOffset, changes) {
      const args = [
        String(options.gatewayTtlMs),
        String(options.historyMaxlen),
        String(options.gatewayMaxlen),
        prefix,
        markField(topic, partition),
        throughOffset,
      ];
      for (const change of changes) args.push(change.kafka.offset, JSON.stringify(change));
      const reply = (await runScript(redis, forwardScript, fixedKeys, args)) as [number, ...string[]];
      const [gateways, ...ids] = reply;
      return { ids, skipped: changes.length - ids.length, gateways: Number(gateways) };
    },
  };
}
