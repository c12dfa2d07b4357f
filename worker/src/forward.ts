/**
 * The one atomic Redis step per chunk of a Kafka batch. For each record, in offset order:
 * skip it when its offset is at or below the partition's high-water mark (a Kafka
 * redelivery) or its PostgreSQL identity (source position, operation and order id) is
 * already covered by the partition's source mark (Debezium re-sent it after a Connect
 * crash); otherwise append it to history (auto id) and, with that same id, to every live
 * gateway stream; then raise both marks.
 *
 * Because the mark checks, appends and mark updates run in one script, a re-sent change can
 * never get a second id, and a gateway that registered before the call gets every entry of
 * it. The script also creates the history epoch before the first append, writes reset
 * markers, and gives every gateway stream entry its predecessor's id (`p`).
 */
import { randomBytes } from 'node:crypto';
import {
  CHANGE_FIELD,
  keyGroups,
  luaScript,
  ORIGIN_ID,
  PREV_FIELD,
  REDIS_NOW,
  RESET_FIELD,
  type RedisClient,
  type RedisKeys,
  type ResetReason,
  runScript,
  type ShardedKeys,
  type StreamChange,
  shardOf,
} from '@orders/contract/redis';
import type { SourcePosition } from './decode.ts';

/*
 * Shared by both scripts: the length-first comparison, the live gateways' streams, and the
 * source mark.
 *
 * A source mark is the highest PostgreSQL position forwarded from the partition, with the
 * identities of the changes forwarded at exactly that position: "<commit>/<change> <id> <id>…".
 * A position alone is not a change's identity: a COPY's rows share one change LSN (one
 * multi-insert WAL record per heap page) and a primary-key update is a delete and a create at
 * one position. So a change counts as forwarded when its position is below the mark, or equal
 * to it with its identity (operation letter and order id, see {@link changeIdentity}) listed.
 * A mark without identities was written before they were kept: everything at its position
 * counts as forwarded, as it did then.
 */
const luaPrelude = `
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
const forwardScript = luaScript(`${luaPrelude}
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
const forwardOrderedScript = luaScript(`${luaPrelude}
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

/** `a > b` for source positions of canonical decimals, as the scripts order them. */
function positionAbove(a: SourcePosition, b: SourcePosition): boolean {
  if (a.commit !== b.commit) return decimalAbove(a.commit, b.commit);
  return decimalAbove(a.change, b.change);
}

function samePosition(a: SourcePosition, b: SourcePosition): boolean {
  return a.commit === b.commit && a.change === b.change;
}

function decimalAbove(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

const opLetters = { insert: 'c', update: 'u', delete: 'd' } as const;

/**
 * What tells a change apart from every other change at its source position: the operation
 * and the order id (the old id for the delete half of a key change, the new one for its
 * create half). One WAL record never holds two changes of one row with one operation: a
 * multi-insert record holds distinct rows (the primary key is unique), and every other
 * record holds one change. A marker-only record (TRUNCATE) is `t`.
 */
export function changeIdentity(record: Pick<ForwardRecord, 'change'>): string {
  const { change } = record;
  return change === null ? 't' : `${opLetters[change.op]}${change.row.id}`;
}

/**
 * The records' positions and identities as {@link forwardOrderedScript} takes them
 * ("commit/change/identity"), or null when the chunk does not fit it: a marker, a snapshot
 * read, a record without a position, a position lower than the one before it, or an
 * identity twice at one position (Debezium re-sending within the chunk). The general script
 * handles those record by record.
 */
function orderedPositions(records: readonly ForwardRecord[]): string[] | null {
  const positions: string[] = [];
  let previous: SourcePosition | null = null;
  const atPrevious = new Set<string>();
  for (const record of records) {
    const { position } = record;
    if (record.change === null || record.reset !== null || record.snapshotRead || position === null)
      return null;
    const identity = changeIdentity(record);
    if (previous === null || !samePosition(position, previous)) {
      if (previous !== null && !positionAbove(position, previous)) return null;
      atPrevious.clear();
    } else if (atPrevious.has(identity)) return null;
    atPrevious.add(identity);
    positions.push(`${position.commit}/${position.change}/${identity}`);
    previous = position;
  }
  return positions.length > 0 ? positions : null;
}

/** One Kafka record for {@link Forwarder.forwardRecords}. */
export interface ForwardRecord {
  offset: string;
  /** The change to append; null for a record that is only a reset marker (TRUNCATE). */
  change: StreamChange | null;
  /** (commit LSN, change LSN); null: the source mark neither skips the record nor moves. */
  position: SourcePosition | null;
  /** A row of a blocking (re-)snapshot: clears the partition's source mark. */
  snapshotRead: boolean;
  /** A reset marker to write (history and gateways, one id) just before the change. */
  reset: ResetReason | null;
}

export interface ForwardOptions {
  /** Gateways silent for longer than this get nothing. */
  gatewayTtlMs: number;
  /** Approximate cap of the shared history stream (`MAXLEN ~`). */
  historyMaxlen: number;
  /** Approximate cap of each gateway stream (`MAXLEN ~`). */
  gatewayMaxlen: number;
}

export interface ForwardResult {
  /** Stream ids given to the forwarded changes, in input order (markers excluded). */
  ids: string[];
  /** Per input record: its entry id (a marker-only record: the marker's), null when skipped. */
  entries: (string | null)[];
  /** Inputs at or below the offset mark (a Kafka redelivery, already in Redis). */
  skipped: number;
  /** Inputs at or below the source mark (re-sent by Debezium under a new offset). */
  sourceSkipped: number;
  /** Reset markers written. */
  markers: number;
  /** Gateway streams each forwarded change was appended to. */
  gateways: number;
  /**
   * Set when Redis no longer held what this worker had written for the partition (its offset
   * mark went back): nothing was forwarded. `mark` is the offset mark Redis still holds (null:
   * none); `rotated` tells whether this call rotated the epoch (false when an earlier rotation
   * after the lost writes still stands).
   */
  regression?: Regression;
}

/** Redis lost acknowledged writes of a partition: see {@link ForwardResult.regression}. */
export interface Regression {
  topic: string;
  partition: number;
  mark: string | null;
  rotated: boolean;
}

export interface Forwarder {
  /**
   * Appends `records` (all from `topic`/`partition`, ascending offsets) and raises the mark
   * to `throughOffset`, which may lie past the last record when the chunk ended in records
   * that were dead-lettered or ignored.
   */
  forwardRecords(
    topic: string,
    partition: number,
    throughOffset: string,
    records: readonly ForwardRecord[],
  ): Promise<ForwardResult>;
  /**
   * Compares every partition this worker wrote to since it last joined the group with what
   * Redis holds now, and rotates the epoch (once per loss) where Redis lost writes. Forwards
   * nothing; the partition's next forward reports the regression, so the caller can re-read
   * the lost window from Kafka.
   */
  checkWritten(): Promise<Regression[]>;
  /**
   * A partition newly assigned (or whose offsets went back) whose first record is `firstOffset`:
   * everything below it was forwarded by someone, so a mark below `firstOffset - 1` (or none
   * at all past offset 0) means Redis lost writes.
   */
  checkResumed(topic: string, partition: number, firstOffset: string): Promise<Regression | null>;
  /** The group was joined again: what this worker wrote before says nothing about the new owners. */
  rejoined(): void;
  /** {@link forwardRecords} for changes without a source position (tests, benchmarks). */
  forward(
    topic: string,
    partition: number,
    throughOffset: string,
    changes: readonly StreamChange[],
  ): Promise<ForwardResult>;
}

/**
 * The mark's field in `{ns}:hwm` (and in `{ns}:src`). Offsets only mean something within one incarnation of a
 * Kafka cluster: a recreated cluster (fresh KRaft storage) restarts every partition at 0, and
 * a mark kept from the old one would skip every new record up to it. Prefixing the cluster id
 * makes the old marks unreachable instead. (A topic recreated within the same cluster keeps
 * the field; {@link dropStaleMark} handles that.)
 */
export function markField(clusterId: string, topic: string, partition: number): string {
  return `${topicMarkPrefix(clusterId, topic)}${partition}`;
}

/** What every mark field of `topic`'s partitions starts with (a re-snapshot clears them all). */
export function topicMarkPrefix(clusterId: string, topic: string): string {
  return `${clusterId}/${topic}:`;
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

/*
 * The regression check alone, for partitions that forward nothing right now.
 * KEYS: high-water hash, epoch. ARGV: mark field, the mark expected at least, the epoch of a
 * rotation that already covers the loss ("" when none), epoch candidate.
 * Returns {0}, or {-1, mark or "", new epoch or ""} as the forward scripts do.
 */
const checkWrittenScript = luaScript(`
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

/** A fresh random epoch candidate (16 hex chars); only used when history has no epoch. */
function epochCandidate(): string {
  return randomBytes(8).toString('hex');
}

/*
 * A re-snapshot clears the source marks of every partition of the topic. With shard groups
 * the marker's own step clears its group; this clears the other groups' marks first, one
 * step per group (each in its group's slot). Clearing before the marker's step keeps it
 * crash-safe: a worker that dies in between redoes both with the redelivered record.
 */
const clearTopicMarksScript = luaScript(`
local n = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #ARGV[1]) == ARGV[1] then
    redis.call('HDEL', KEYS[1], f)
    n = n + 1
  end
end
return n
`);

export function createForwarder(
  redis: RedisClient,
  /** One namespace's keys, or its shard groups' keys (partition p goes to group p mod S). */
  keys: ShardedKeys,
  options: ForwardOptions,
  /** Kafka cluster id (`admin.describeCluster()`), part of every mark field. */
  clusterId: string,
): Forwarder {
  const groups = keyGroups(keys).map((group) => ({
    group,
    fixedKeys: [group.history, group.gateways, group.highWater, group.sourceMark, group.epoch],
    prefix: group.gatewayStream(''),
  }));
  /*
   * What this worker wrote, to notice Redis forgetting it: per mark field the offset mark
   * Redis acknowledged (it is at least that high) and when, on a counter of this worker's own
   * writes and rotations. A rotation of a group's epoch covers every loss of a partition last
   * written before it, as long as that epoch is still in place: if Redis went back past the
   * rotation too, the rotation is lost with the writes and another is due.
   */
  let clock = 0;
  let joinedAt = 0;
  const written = new Map<string, { topic: string; partition: number; mark: string; at: number }>();
  const rotations = new Map<number, { epoch: string; at: number }>();
  const coveringEpoch = (shard: number, since: number) => {
    const rotation = rotations.get(shard);
    return rotation !== undefined && rotation.at > since ? rotation.epoch : '';
  };
  function settle(
    topic: string,
    partition: number,
    shard: number,
    reply: [number, string, string],
  ): Regression {
    const [, mark, epoch] = reply;
    if (epoch !== '') rotations.set(shard, { epoch, at: ++clock });
    return { topic, partition, mark: mark === '' ? null : mark, rotated: epoch !== '' };
  }
  async function forwardRecords(
    topic: string,
    partition: number,
    throughOffset: string,
    records: readonly ForwardRecord[],
  ): Promise<ForwardResult> {
    const shard = shardOf(partition, groups.length);
    const target = groups[shard];
    if (target === undefined) throw new Error(`no shard group for partition ${partition}`);
    const { fixedKeys, prefix } = target;
    if (groups.length > 1 && records.some((record) => record.reset === 'resnapshot')) {
      const topicPrefix = topicMarkPrefix(clusterId, topic);
      for (const [g, other] of groups.entries()) {
        if (g === shard) continue;
        await runScript(redis, clearTopicMarksScript, [other.group.sourceMark], [topicPrefix]);
      }
    }
    const field = markField(clusterId, topic, partition);
    const last = written.get(field);
    const args = [
      String(options.gatewayTtlMs),
      String(options.historyMaxlen),
      String(options.gatewayMaxlen),
      prefix,
      field,
      throughOffset,
      // Fresh per call, not per process: after Redis lost its data, a candidate kept from
      // before would bring the old epoch back and old cursors would look valid.
      epochCandidate(),
      last?.mark ?? '',
      last === undefined ? '' : coveringEpoch(shard, last.at),
    ];
    const positions = orderedPositions(records);
    if (positions !== null) {
      args.push(records.map((record) => record.offset).join(' '), positions.join(' '));
      for (const record of records) args.push(JSON.stringify(record.change));
    } else {
      args.push(topicMarkPrefix(clusterId, topic));
      for (const record of records) {
        args.push(
          record.offset,
          record.position?.commit ?? '',
          record.position?.change ?? '',
          changeIdentity(record),
          record.reset ?? (record.snapshotRead ? 's' : ''),
          record.change ? JSON.stringify(record.change) : '',
        );
      }
    }
    const script = positions !== null ? forwardOrderedScript : forwardScript;
    const reply = (await runScript(redis, script, fixedKeys, args)) as [number, number, number, ...string[]];
    if (Number(reply[0]) === -1) {
      const regression = settle(topic, partition, shard, reply as unknown as [number, string, string]);
      // From here on Redis's mark is what this worker expects; the caller re-reads from it.
      if (regression.mark === null) written.delete(field);
      else written.set(field, { topic, partition, mark: regression.mark, at: ++clock });
      return {
        ids: [],
        entries: records.map(() => null),
        skipped: 0,
        sourceSkipped: 0,
        markers: 0,
        gateways: 0,
        regression,
      };
    }
    const [gateways, skipped, sourceSkipped, ...raw] = reply;
    const mark = last !== undefined && !offsetAtLeast(throughOffset, last.mark) ? last.mark : throughOffset;
    written.set(field, { topic, partition, mark, at: ++clock });
    const entries = raw.map((id) => (id === '' ? null : id));
    const ids: string[] = [];
    let markers = 0;
    for (let i = 0; i < records.length; i++) {
      const id = entries[i];
      if (id == null) continue;
      if (records[i]?.change) ids.push(id);
      if (records[i]?.reset) markers++;
    }
    return {
      ids,
      entries,
      skipped: Number(skipped),
      sourceSkipped: Number(sourceSkipped),
      markers,
      gateways: Number(gateways),
    };
  }
  async function check(
    topic: string,
    partition: number,
    expected: string,
    since: number,
  ): Promise<Regression | null> {
    const shard = shardOf(partition, groups.length);
    const target = groups[shard];
    if (target === undefined) throw new Error(`no shard group for partition ${partition}`);
    const reply = (await runScript(
      redis,
      checkWrittenScript,
      [target.group.highWater, target.group.epoch],
      [markField(clusterId, topic, partition), expected, coveringEpoch(shard, since), epochCandidate()],
    )) as [number, string, string];
    if (Number(reply[0]) !== -1) return null;
    return settle(topic, partition, shard, reply);
  }
  return {
    forwardRecords,
    async checkWritten() {
      const found: Regression[] = [];
      for (const { topic, partition, mark, at } of [...written.values()]) {
        const regression = await check(topic, partition, mark, at);
        if (regression !== null) found.push(regression);
      }
      return found;
    },
    async checkResumed(topic, partition, firstOffset) {
      const first = BigInt(firstOffset);
      if (first === 0n) return null;
      return check(topic, partition, String(first - 1n), joinedAt);
    },
    rejoined() {
      written.clear();
      joinedAt = ++clock;
    },
    forward(topic, partition, throughOffset, changes) {
      const records = changes.map(
        (change): ForwardRecord => ({
          offset: change.kafka.offset,
          change,
          position: null,
          snapshotRead: false,
          reset: null,
        }),
      );
      return forwardRecords(topic, partition, throughOffset, records);
    },
  };
}
