import { CHANGE_FIELD, luaScript, ORIGIN_ID, PREV_FIELD } from '@orders/contract/redis';
import { luaPrelude } from './prelude.ts';

/*
 * The same step for the common chunk: plain changes, each with a source position, the
 * positions never going down and no identity twice at one position (offsets always
 * ascend). Then no record of the chunk can be a re-send of another record of the chunk, so
 * each is checked against the marks as they were before the chunk, each costs one argument
 * instead of six, and the new source mark is the last forwarded position with the identities
 * forwarded there (added to the old mark's when the position is the same).
 *
 * KEYS: as above.
 * ARGV: ttlMs, historyMaxlen, gatewayMaxlen, gateway stream prefix, mark field, offset to
 *       raise the mark to, epoch candidate, the last mark written and the rotation's epoch
 *       (as above), the records' offsets ("o1 o2 …"), their positions
 *       and identities ("c1/l1/i1 c2/l2/i2 …"), then the payloads in ascending offset order.
 * Returns as above.
 */
export const forwardOrderedScript = luaScript(`${luaPrelude}
local field = ARGV[5]
local mark = redis.call('HGET', KEYS[3], field)
local lost = regression(mark)
if lost then return lost end
local src = readSource(redis.call('HGET', KEYS[4], field))
local out = {#live, 0, 0}
local offsets = string.gmatch(ARGV[10], '%d+')
local positions = string.gmatch(ARGV[11], '(%d+)/(%d+)/(%S+)')
local history, historyMaxlen, gatewayMaxlen = KEYS[1], ARGV[2], ARGV[3]
local topc, topl, ids, n = nil, nil, {}, 0
local prev
for i = 12, #ARGV do
  local o = offsets()
  local pc, pl, identity = positions()
  if mark and not above(o, mark) then
    out[2] = out[2] + 1
    out[#out + 1] = ''
  elseif forwarded(src, pc, pl, identity) then
    out[3] = out[3] + 1
    out[#out + 1] = ''
  else
    if not prev then
      redis.call('SET', KEYS[5], ARGV[7], 'NX')
      prev = {}
      for j, s in ipairs(streams) do
        local top = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)[1]
        prev[j] = top and top[1] or '${ORIGIN_ID}'
      end
    end
    local value = ARGV[i]
    local id = redis.call('XADD', history, 'MAXLEN', '~', historyMaxlen, '*', '${CHANGE_FIELD}', value)
    for j, s in ipairs(streams) do
      redis.call('XADD', s, 'MAXLEN', '~', gatewayMaxlen, id, '${CHANGE_FIELD}', value, '${PREV_FIELD}', prev[j])
      prev[j] = id
    end
    out[#out + 1] = id
    -- Positions never go down in this chunk: the last one forwarded is the new mark.
    if pc ~= topc or pl ~= topl then topc, topl, n = pc, pl, 0 end
    n = n + 1
    ids[n] = identity
  end
end
if prev then
  local value = topc .. '/' .. topl .. ' ' .. table.concat(ids, ' ', 1, n)
  if src and src.list and src.c == topc and src.l == topl then
    value = topc .. '/' .. topl .. ' ' .. table.concat(src.list, ' ') .. ' ' .. table.concat(ids, ' ', 1, n)
  end
  redis.call('HSET', KEYS[4], field, value)
end
if not mark or above(ARGV[6], mark) then redis.call('HSET', KEYS[3], field, ARGV[6]) end
return out
`);
