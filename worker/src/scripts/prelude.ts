import { REDIS_NOW } from '@orders/contract/redis';

/*
 * Shared by both scripts: the length-first comparison, the live gateways' streams, and the
 * source mark.
 *
 * A source mark is the highest PostgreSQL position forwarded from the partition, with the
 * identities of the changes forwarded at exactly that position: "<commit>/<change> <id> <id>…".
 * A position alone is not a change's identity: a COPY's rows share one change LSN (one
 * multi-insert WAL record per heap page) and a primary-key update is a delete and a create at
 * one position. So a change counts as forwarded when its position is below the mark, or equal
 * to it with its identity (operation letter and order id, see `changeIdentity` in `../marks.ts`) listed.
 * A mark without identities was written before they were kept: everything at its position
 * counts as forwarded, as it did then.
 */
export const luaPrelude = `
local function above(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
${REDIS_NOW}
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (now - tonumber(ARGV[1])), '+inf')
local streams = {}
for i, id in ipairs(live) do streams[i] = ARGV[4] .. id end
local function readSource(value)
  if not value then return nil end
  local slash = string.find(value, '/', 1, true)
  local space = string.find(value, ' ', slash, true)
  local m = {c = string.sub(value, 1, slash - 1)}
  if not space then
    m.l = string.sub(value, slash + 1)
    return m
  end
  m.l, m.seen, m.list = string.sub(value, slash + 1, space - 1), {}, {}
  for id in string.gmatch(string.sub(value, space + 1), '%S+') do
    m.seen[id] = true
    m.list[#m.list + 1] = id
  end
  return m
end
local function compare(pc, pl, m)
  if pc ~= m.c then return above(pc, m.c) and 1 or -1 end
  if pl ~= m.l then return above(pl, m.l) and 1 or -1 end
  return 0
end
local function forwarded(m, pc, pl, id)
  if not m then return false end
  local c = compare(pc, pl, m)
  if c ~= 0 then return c < 0 end
  return m.seen == nil or m.seen[id] == true
end
local function advance(m, pc, pl, id)
  if m then
    local c = compare(pc, pl, m)
    if c < 0 then return m end
    if c == 0 then
      if m.seen and not m.seen[id] then
        m.seen[id] = true
        m.list[#m.list + 1] = id
      end
      return m
    end
  end
  return {c = pc, l = pl, seen = {[id] = true}, list = {id}}
end
local function encode(m)
  local value = m.c .. '/' .. m.l
  if m.list then value = value .. ' ' .. table.concat(m.list, ' ') end
  return value
end
local function regression(mark)
  local expected = ARGV[8]
  if expected == '' or (mark and not above(expected, mark)) then return nil end
  if ARGV[9] ~= '' and redis.call('GET', KEYS[5]) == ARGV[9] then return {-1, mark or '', ''} end
  redis.call('SET', KEYS[5], ARGV[7])
  return {-1, mark or '', ARGV[7]}
end
`;
