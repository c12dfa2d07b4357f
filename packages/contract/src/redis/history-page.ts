/**
 * Reading history after a position: the entries, whether the read is complete (nothing after
 * the position was trimmed), and the history's epoch, in one script, so a trim cannot slip
 * between the check and the read and a page never mixes two histories.
 */
import { randomUUID } from 'node:crypto';
import { luaScript, type RedisClient, runScript } from './lua.ts';

/** One read of history after a position, with whether that read is complete. */
export interface HistoryPage {
  /** The history's epoch, read with the page, so a page never mixes two histories. */
  epoch: string;
  /** Id of the newest entry ever added (survives trimming). */
  lastId: string;
  /**
   * `ok`: nothing after the position was trimmed; `expired`: some of it was;
   * `unknown`: the position is newer than anything this history ever held.
   */
  status: 'ok' | 'expired' | 'unknown';
  entries: { id: string; fields: Record<string, string> }[];
}

/*
 * The epoch is created here (SET NX, like the worker does before appending) when a reader
 * needs one first, e.g. to hand out the cursor of a snapshot of an empty history.
 *
 * Trimming removes the oldest entries, so the history after a position is complete exactly
 * when the position's own entry is still there (cursors are entry ids), or when nothing
 * was ever removed (entries-added equals the length). Redis 7.0 does not move
 * max-deleted-entry-id on XTRIM/MAXLEN, so that field cannot be used. One script, so a trim
 * cannot slip between the check and the read.
 */
const historyPageScript = luaScript(`
redis.call('SET', KEYS[2], ARGV[3], 'NX')
local epoch = redis.call('GET', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[1] == '0-0' then return {'0-0', 'ok', {}, epoch} end
  return {'0-0', 'unknown', {}, epoch}
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, added, length = '0-0', -1, -2
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1]
  elseif info[i] == 'entries-added' then added = tonumber(info[i + 1])
  elseif info[i] == 'length' then length = tonumber(info[i + 1]) end
end
local function split(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local cms, cseq = split(ARGV[1])
local lms, lseq = split(last)
local status = 'ok'
if cms > lms or (cms == lms and cseq > lseq) then
  status = 'unknown'
elseif ARGV[1] ~= last and added ~= length and #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then
  status = 'expired'
end
local entries = {}
if status == 'ok' and tonumber(ARGV[2]) > 0 then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
end
return {last, status, entries, epoch}
`);

/** Entries of `keys.history` strictly after `after` (at most `count`), read atomically with the completeness check. */
export async function readHistoryPage(
  redis: RedisClient,
  keys: { history: string; epoch: string },
  after: string,
  count: number,
): Promise<HistoryPage> {
  // One group's keys share a hash tag, so this script stays in one slot on a cluster.
  const reply = await runScript(
    redis,
    historyPageScript,
    [keys.history, keys.epoch],
    [after, String(count), randomUUID()],
  );
  return parsePage(reply);
}

function parsePage(reply: unknown): HistoryPage {
  if (!Array.isArray(reply) || reply.length !== 4) throw new Error('unexpected history page reply');
  const [lastId, status, rawEntries, epoch] = reply as [unknown, unknown, unknown, unknown];
  if (
    typeof lastId !== 'string' ||
    typeof epoch !== 'string' ||
    (status !== 'ok' && status !== 'expired' && status !== 'unknown') ||
    !Array.isArray(rawEntries)
  ) {
    throw new Error('unexpected history page reply');
  }
  const entries = rawEntries.map((raw: unknown) => {
    if (!Array.isArray(raw) || typeof raw[0] !== 'string' || !Array.isArray(raw[1])) {
      throw new Error('unexpected history entry');
    }
    const flat = raw[1] as unknown[];
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
    return { id: raw[0], fields };
  });
  return { epoch, lastId, status, entries };
}
