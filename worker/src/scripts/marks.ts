import { luaScript } from '@orders/contract/redis';

/*
 * Reading through a script keeps RedisClient down to the eval methods every caller (and the
 * fault-injecting test wrapper) already provides.
 * KEYS: high-water hash. ARGV: mark field. Returns the mark or nil.
 */
export const readMarkScript = luaScript(`return redis.call('HGET', KEYS[1], ARGV[1])`);

/*
 * Compare-and-delete: during a rebalance the previous owner of the partition may still be
 * forwarding. If it already reset the mark and forwarded new records, the field holds a new,
 * legitimate value that must stay; only the exact stale value seen by the caller is removed.
 * KEYS: high-water hash. ARGV: mark field, the stale value. Returns 1 when it deleted.
 */
export const dropMarkScript = luaScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`);

/*
 * The regression check alone, for partitions that forward nothing right now.
 * KEYS: high-water hash, epoch. ARGV: mark field, the mark expected at least, the epoch of a
 * rotation that already covers the loss ("" when none), epoch candidate.
 * Returns {0}, or {-1, mark or "", new epoch or ""} as the forward scripts do.
 */
export const checkWrittenScript = luaScript(`
local function above(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local mark = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' or (mark and not above(ARGV[2], mark)) then return {0} end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then return {-1, mark or '', ''} end
redis.call('SET', KEYS[2], ARGV[4])
return {-1, mark or '', ARGV[4]}
`);

/*
 * A re-snapshot clears the source marks of every partition of the topic. With shard groups
 * the marker's own step clears its group; this clears the other groups' marks first, one
 * step per group (each in its group's slot). Clearing before the marker's step keeps it
 * crash-safe: a worker that dies in between redoes both with the redelivered record.
 * KEYS: source-mark hash. ARGV: the topic's mark field prefix. Returns the fields deleted.
 */
export const clearTopicMarksScript = luaScript(`
local n = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #ARGV[1]) == ARGV[1] then
    redis.call('HDEL', KEYS[1], f)
    n = n + 1
  end
end
return n
`);
