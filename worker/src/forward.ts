/**
 * The one atomic Redis step per chunk of a Kafka batch. For each record, in offset order:
 * skip it when its offset is at or below the partition's high-water mark (a Kafka
 * redelivery) or its PostgreSQL source position is at or below the partition's source mark
 * (Debezium re-sent it after a Connect crash); otherwise append it to history (auto id) and,
 * with that same id, to every live gateway stream; then raise both marks.
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

// Shared by both scripts: the length-first comparison and the live gateways' streams.
const luaPrelude = `
local function above(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
${REDIS_NOW}
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (now - tonumber(ARGV[1])), '+inf')
local streams = {}
for i, id in ipairs(live) do streams[i] = ARGV[4] .. id end
`;

/*
 * KEYS: history, gateways, high-water hash, source-mark hash, epoch.
 * ARGV: ttlMs, historyMaxlen, gatewayMaxlen, gateway stream prefix, mark field (both hashes),
 *       offset to raise the mark to, epoch candidate, prefix of this topic's mark fields,
 *       then per record (offset, commit LSN or "", change LSN or "", flags, payload or "") in
 *       ascending offset order; flags: "" (plain), "s" (snapshot read) or a reset reason
 *       (a resnapshot marker always comes with a snapshot read, a truncate with no change).
 * Returns {live gateways, offset duplicates, source duplicates, then per record its entry id
 * ("" when skipped; the marker's id for a marker-only record)}.
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
local function split(p)
  local slash = string.find(p, '/', 1, true)
  return string.sub(p, 1, slash - 1), string.sub(p, slash + 1)
end
local field = ARGV[5]
local mark = redis.call('HGET', KEYS[3], field)
local src = redis.call('HGET', KEYS[4], field)
local sc, sl
if src then sc, sl = split(src) end
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
for i = 9, #ARGV, 5 do
  local pc, pl
  if ARGV[i + 1] ~= '' then pc, pl = ARGV[i + 1], ARGV[i + 2] end
  if mark and not above(ARGV[i], mark) then
    out[2] = out[2] + 1
    out[#out + 1] = ''
  elseif pc and sc and not (above(pc, sc) or (pc == sc and above(pl, sl))) then
    out[3] = out[3] + 1
    out[#out + 1] = ''
  else
    local flags = ARGV[i + 3]
    local reset = ''
    if flags ~= '' and flags ~= 's' then reset = flags end
    if reset == 'resnapshot' then
      local prefix = ARGV[8]
      for _, f in ipairs(redis.call('HKEYS', KEYS[4])) do
        if string.sub(f, 1, #prefix) == prefix then redis.call('HDEL', KEYS[4], f) end
      end
      sc, sl, raised = nil, nil, false
    elseif flags == 's' and (sc or raised) then
      redis.call('HDEL', KEYS[4], field)
      sc, sl, raised = nil, nil, false
    end
    local id = ''
    if reset ~= '' then id = append('${RESET_FIELD}', reset) end
    if ARGV[i + 4] ~= '' then id = append('${CHANGE_FIELD}', ARGV[i + 4]) end
    out[#out + 1] = id
    if pc then sc, sl, raised = pc, pl, true end
  end
end
if raised then redis.call('HSET', KEYS[4], field, sc .. '/' .. sl) end
if not mark or above(ARGV[6], mark) then redis.call('HSET', KEYS[3], field, ARGV[6]) end
return out
`);

/*
 * The same step for the common chunk: plain changes, each with a source position, the
 * positions strictly ascending (offsets always are). Then whatever either mark skips is a
 * prefix of the chunk: once a record passes both marks, every later one has a higher offset
 * and a higher position than everything forwarded before it. So only that prefix is compared
 * (usually one record), and each record costs one argument instead of five.
 *
 * KEYS: as above.
 * ARGV: ttlMs, historyMaxlen, gatewayMaxlen, gateway stream prefix, mark field, offset to
 *       raise the mark to, epoch candidate, the records' offsets ("o1 o2 …"), their positions
 *       ("c1/l1 c2/l2 …"), the last position, then the payloads in ascending offset order.
 * Returns as above.
 */
const forwardOrderedScript = luaScript(`${luaPrelude}
local field = ARGV[5]
local mark = redis.call('HGET', KEYS[3], field)
local src = redis.call('HGET', KEYS[4], field)
local out = {#live, 0, 0}
local first, last = 11, #ARGV
if mark or src then
  local sc, sl
  if src then
    local slash = string.find(src, '/', 1, true)
    sc, sl = string.sub(src, 1, slash - 1), string.sub(src, slash + 1)
  end
  local offsets = string.gmatch(ARGV[8], '%d+')
  local positions = string.gmatch(ARGV[9], '(%d+)/(%d+)')
  while first <= last do
    local o = offsets()
    local pc, pl = positions()
    if mark and not above(o, mark) then
      out[2] = out[2] + 1
    elseif sc and not (above(pc, sc) or (pc == sc and above(pl, sl))) then
      out[3] = out[3] + 1
    else
      break
    end
    out[#out + 1] = ''
    first = first + 1
  end
end
if first <= last then
  redis.call('SET', KEYS[5], ARGV[7], 'NX')
  local prev = {}
  for i, s in ipairs(streams) do
    local top = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)[1]
    prev[i] = top and top[1] or '${ORIGIN_ID}'
  end
  local history, historyMaxlen, gatewayMaxlen = KEYS[1], ARGV[2], ARGV[3]
  for i = first, last do
    local value = ARGV[i]
    local id = redis.call('XADD', history, 'MAXLEN', '~', historyMaxlen, '*', '${CHANGE_FIELD}', value)
    for j, s in ipairs(streams) do
      redis.call('XADD', s, 'MAXLEN', '~', gatewayMaxlen, id, '${CHANGE_FIELD}', value, '${PREV_FIELD}', prev[j])
      prev[j] = id
    end
    out[#out + 1] = id
  end
  redis.call('HSET', KEYS[4], field, ARGV[10])
end
if not mark or above(ARGV[6], mark) then redis.call('HSET', KEYS[3], field, ARGV[6]) end
return out
`);

/** `a > b` for source positions of canonical decimals, as the scripts order them. */
function positionAbove(a: SourcePosition, b: SourcePosition): boolean {
  if (a.commit !== b.commit) return decimalAbove(a.commit, b.commit);
  return decimalAbove(a.change, b.change);
}

function decimalAbove(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

/**
 * The records' positions as {@link forwardOrderedScript} takes them ("commit/change"), or null
 * when the chunk does not fit it: a marker, a snapshot read, a record without a position, or
 * positions not strictly ascending. Debezium's streamed changes within a partition are
 * ascending except where it re-sends, and the general script handles that.
 */
function orderedPositions(records: readonly ForwardRecord[]): string[] | null {
  const positions: string[] = [];
  let previous: SourcePosition | null = null;
  for (const record of records) {
    const { position } = record;
    if (record.change === null || record.reset !== null || record.snapshotRead || position === null)
      return null;
    if (previous !== null && !positionAbove(position, previous)) return null;
    positions.push(`${position.commit}/${position.change}`);
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
    const args = [
      String(options.gatewayTtlMs),
      String(options.historyMaxlen),
      String(options.gatewayMaxlen),
      prefix,
      markField(clusterId, topic, partition),
      throughOffset,
      // Fresh per call, not per process: after Redis lost its data, a candidate kept from
      // before would bring the old epoch back and old cursors would look valid.
      epochCandidate(),
    ];
    const positions = orderedPositions(records);
    if (positions !== null) {
      args.push(
        records.map((record) => record.offset).join(' '),
        positions.join(' '),
        positions.at(-1) ?? '',
      );
      for (const record of records) args.push(JSON.stringify(record.change));
    } else {
      args.push(topicMarkPrefix(clusterId, topic));
      for (const record of records) {
        args.push(
          record.offset,
          record.position?.commit ?? '',
          record.position?.change ?? '',
          record.reset ?? (record.snapshotRead ? 's' : ''),
          record.change ? JSON.stringify(record.change) : '',
        );
      }
    }
    const script = positions !== null ? forwardOrderedScript : forwardScript;
    const reply = (await runScript(redis, script, fixedKeys, args)) as [number, number, number, ...string[]];
    const [gateways, skipped, sourceSkipped, ...raw] = reply;
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
  return {
    forwardRecords,
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
