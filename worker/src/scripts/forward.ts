import { CHANGE_FIELD, luaScript, ORIGIN_ID, PREV_FIELD, RESET_FIELD } from '@orders/contract/redis';
import { luaPrelude } from './prelude.ts';

/*
 * KEYS: history, gateways, high-water hash, source-mark hash, epoch.
 * ARGV: ttlMs, historyMaxlen, gatewayMaxlen, gateway stream prefix, mark field (both hashes),
 *       offset to raise the mark to, epoch candidate, the offset mark this worker last wrote
 *       for the partition ("" when it holds none), the epoch a rotation already set after
 *       that write ("" when none), prefix of this topic's mark fields, then per record (offset, commit LSN or "", change LSN or "", identity, flags, payload
 *       or "") in ascending offset order; flags: "" (plain), "s" (snapshot read) or a reset
 *       reason (a resnapshot marker always comes with a snapshot read, a truncate with no
 *       change).
 * Returns {live gateways, offset duplicates, source duplicates, then per record its entry id
 * ("" when skipped; the marker's id for a marker-only record)}; or, when the offset mark is
 * below what this worker last wrote (Redis lost acknowledged writes), {-1, the mark Redis
 * holds or "", the new epoch or "" when the rotation named in ARGV was still in place} and
 * nothing else is done.
 *
 * Gateway streams are not in KEYS because the script discovers them; they carry the same
 * hash tag, so on a cluster they still live in this script's slot. Offsets and LSNs are
 * compared as canonical decimal strings (length first) because Lua numbers are doubles and
 * both are 64-bit.
 *
 * A re-snapshot clears the source marks: the positions that follow may start below the old
 * ones (a restored or replaced PostgreSQL), and a stale mark would skip them silently. Every
 * snapshot read clears its own partition's mark (it precedes that partition's post-snapshot
 * changes), the marker clears every partition of the topic (some get no snapshot row).
 */
export const forwardScript = luaScript(`${luaPrelude}
local field = ARGV[5]
local mark = redis.call('HGET', KEYS[3], field)
local lost = regression(mark)
if lost then return lost end
local src = readSource(redis.call('HGET', KEYS[4], field))
local raised = false
local prev
local function append(kind, value)
  if not prev then
    redis.call('SET', KEYS[5], ARGV[7], 'NX')
    prev = {}
    for i, s in ipairs(streams) do
      local last = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)[1]
      prev[i] = last and last[1] or '${ORIGIN_ID}'
    end
  end
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', kind, value)
  for i, s in ipairs(streams) do
    redis.call('XADD', s, 'MAXLEN', '~', ARGV[3], id, kind, value, '${PREV_FIELD}', prev[i])
    prev[i] = id
  end
  return id
end
local out = {#live, 0, 0}
for i = 11, #ARGV, 6 do
  local pc, pl, identity = nil, nil, ARGV[i + 3]
  if ARGV[i + 1] ~= '' then pc, pl = ARGV[i + 1], ARGV[i + 2] end
  if mark and not above(ARGV[i], mark) then
    out[2] = out[2] + 1
    out[#out + 1] = ''
  elseif pc and forwarded(src, pc, pl, identity) then
    out[3] = out[3] + 1
    out[#out + 1] = ''
  else
    local flags = ARGV[i + 4]
    local reset = ''
    if flags ~= '' and flags ~= 's' then reset = flags end
    if reset == 'resnapshot' then
      local prefix = ARGV[10]
      for _, f in ipairs(redis.call('HKEYS', KEYS[4])) do
        if string.sub(f, 1, #prefix) == prefix then redis.call('HDEL', KEYS[4], f) end
      end
      src, raised = nil, false
    elseif flags == 's' and (src or raised) then
      redis.call('HDEL', KEYS[4], field)
      src, raised = nil, false
    end
    local id = ''
    if reset ~= '' then id = append('${RESET_FIELD}', reset) end
    if ARGV[i + 5] ~= '' then id = append('${CHANGE_FIELD}', ARGV[i + 5]) end
    out[#out + 1] = id
    if pc then src, raised = advance(src, pc, pl, identity), true end
  end
end
if raised then redis.call('HSET', KEYS[4], field, encode(src)) end
if not mark or above(ARGV[6], mark) then redis.call('HSET', KEYS[3], field, ARGV[6]) end
return out
`);
