/**
 * Gateway registry: a sorted set of gateway id → last heartbeat (Redis clock, ms).
 *
 * Gateways call {@link heartbeatGateway} about once a second; the worker forwards only to
 * ids whose score is newer than the TTL and {@link reapGateways} deletes the rest. All
 * clocks are Redis' own (`TIME` inside the scripts), so skew between hosts cannot make a
 * live gateway look dead or the other way round.
 */
import { GATEWAY_GROUP, type RedisKeys } from './layout.ts';
import { luaScript, REDIS_NOW, type RedisClient, runScript } from './lua.ts';

// The stream and its group are (re)created here rather than by a separate call, so a
// gateway whose stream was reaped while it was paused gets a consumable stream back on its
// next heartbeat, and learns from `created` that entries in between never reached it.
const heartbeatScript = luaScript(`
${REDIS_NOW}
local created = redis.pcall('XGROUP', 'CREATE', KEYS[2], ARGV[2], '0', 'MKSTREAM')
redis.call('ZADD', KEYS[1], now, ARGV[1])
if type(created) == 'table' and created.err then return {now, 0} end
return {now, 1}
`);

const reapScript = luaScript(`
${REDIS_NOW}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
for _, id in ipairs(dead) do
  -- Same hash tag as KEYS[1], so this stays in the script's slot.
  redis.call('DEL', ARGV[2] .. id)
  redis.call('ZREM', KEYS[1], id)
end
return dead
`);

const unregisterScript = luaScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('DEL', KEYS[2])
`);

const liveScript = luaScript(`
${REDIS_NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
`);

export interface Heartbeat {
  /** Redis time of this heartbeat (ms). */
  at: number;
  /**
   * True when the stream or its consumer group did not exist: on the first heartbeat of a
   * new gateway, or after the worker reaped a gateway that was silent past the TTL (then
   * the entries in between were never written to this gateway's stream).
   */
  created: boolean;
}

/**
 * Marks `gatewayId` alive now and makes sure its stream and the {@link GATEWAY_GROUP}
 * group exist (created from id 0, so nothing the worker writes after this call is missed).
 * Call before the first XREADGROUP and then at least every TTL/3.
 */
export async function heartbeatGateway(
  redis: RedisClient,
  keys: RedisKeys,
  gatewayId: string,
): Promise<Heartbeat> {
  const reply = (await runScript(
    redis,
    heartbeatScript,
    [keys.gateways, keys.gatewayStream(gatewayId)],
    [gatewayId, GATEWAY_GROUP],
  )) as [number, number];
  return { at: Number(reply[0]), created: Number(reply[1]) === 1 };
}

/** Removes a gateway at once (graceful shutdown) instead of waiting for the TTL. */
export async function unregisterGateway(
  redis: RedisClient,
  keys: RedisKeys,
  gatewayId: string,
): Promise<void> {
  await runScript(redis, unregisterScript, [keys.gateways, keys.gatewayStream(gatewayId)], [gatewayId]);
}

/** Ids of gateways that heartbeated within `ttlMs` (what the forward script sees). */
export async function liveGateways(redis: RedisClient, keys: RedisKeys, ttlMs: number): Promise<string[]> {
  return (await runScript(redis, liveScript, [keys.gateways], [String(ttlMs)])) as string[];
}

/** Deletes the stream and registry entry of every gateway silent for longer than `ttlMs`. */
export async function reapGateways(redis: RedisClient, keys: RedisKeys, ttlMs: number): Promise<string[]> {
  return (await runScript(
    redis,
    reapScript,
    [keys.gateways],
    [String(ttlMs), keys.gatewayStream('')],
  )) as string[];
}
