/**
 * The Redis layout shared by the worker (writer) and the gateways (readers).
 *
 * Every key carries the same hash tag, so the worker's per-batch Lua script touches
 * one slot and stays atomic on a cluster too. `ns` defaults to "orders"; tests use
 * their own namespace so suites never share keys.
 */
import type { ChangeOp, Order } from '../order.ts';
import type { ResetReason } from '../protocol/server-frame.ts';

export interface RedisKeys {
  /** Capped stream of every change; its entry ids are the clients' cursors. */
  history: string;
  /** Sorted set: gateway id -> last heartbeat (ms since epoch, Redis clock). */
  gateways: string;
  /** Hash: "clusterId/topic:partition" -> highest Kafka offset already forwarded. */
  highWater: string;
  /**
   * Hash: same fields as {@link highWater} -> highest PostgreSQL source position forwarded
   * from that partition, "<commit LSN>/<change LSN>" as decimals. Debezium re-sends changes as
   * new Kafka records after a Connect crash; this mark is what makes them duplicates.
   */
  sourceMark: string;
  /**
   * String: the history's epoch, a random id created with `SET NX` by whoever needs it first.
   * Every cursor carries it; when Redis loses its data a new epoch appears and every old
   * cursor is answered with `reset`.
   */
  epoch: string;
  /**
   * String: the number of partitions of the pipeline's Kafka topic, written by the worker
   * (see `publishPartitionCount`).
   */
  partitions: string;
  /** The stream the worker fills for one gateway (same entry ids as history). */
  gatewayStream(gatewayId: string): string;
}

/**
 * The keys of one namespace. `group` selects a shard group (see {@link shardKeys}): its keys
 * carry the hash tag `{<ns>:<group>}` instead of `{<ns>}`, so each group has a slot of its own.
 */
export function redisKeys(ns = 'orders', group?: number): RedisKeys {
  const tag = group === undefined ? `{${ns}}` : `{${ns}:${group}}`;
  return {
    history: `${tag}:history`,
    gateways: `${tag}:gateways`,
    highWater: `${tag}:hwm`,
    sourceMark: `${tag}:src`,
    epoch: `${tag}:epoch`,
    partitions: `${tag}:partitions`,
    gatewayStream: (gatewayId) => `${tag}:gw:${gatewayId}`,
  };
}

/**
 * The keys of every shard group, in group order. With one group (`REDIS_SHARDS=1`, the
 * default) that is exactly {@link redisKeys}`(ns)`. With S > 1 groups, group g has the hash
 * tag `{<ns>:<g>}` and under it its own history, registry, gateway streams, marks and epoch;
 * Kafka partition p belongs to group {@link shardOf}`(p, S)`. On a Redis Cluster the groups'
 * slots spread over the masters, and each Lua step still touches one slot.
 */
export function shardKeys(ns: string, shards: number): RedisKeys[] {
  if (!isShardCount(shards)) throw new Error(`shard groups must be a positive integer, not ${shards}`);
  if (shards === 1) return [redisKeys(ns)];
  return Array.from({ length: shards }, (_, g) => redisKeys(ns, g));
}

/** One namespace's keys, or the keys of each of its shard groups in group order. */
export type ShardedKeys = RedisKeys | readonly RedisKeys[];

/** The groups of {@link ShardedKeys}: a single {@link RedisKeys} is one group. */
export function keyGroups(keys: ShardedKeys): readonly RedisKeys[] {
  return isKeyList(keys) ? keys : [keys];
}

function isKeyList(keys: ShardedKeys): keys is readonly RedisKeys[] {
  return Array.isArray(keys);
}

/** The shard group of a Kafka partition: one partition, hence one order, always maps to one group. */
export function shardOf(partition: number, shards: number): number {
  return partition % shards;
}

/** Most shard groups a deployment may configure (one position per group travels in every cursor). */
export const MAX_SHARDS = 256;

export function isShardCount(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= MAX_SHARDS;
}

/**
 * `REDIS_SHARDS` as the worker and the gateways read it: unset means 1; anything but a
 * positive integer up to {@link MAX_SHARDS} is an error with a message saying so.
 */
export function parseShardCount(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return 1;
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!isShardCount(value))
    throw new Error(`REDIS_SHARDS must be a positive integer (at most ${MAX_SHARDS}), got "${text}"`);
  return value;
}

/** Consumer group every gateway uses on its own stream (consumer name = gateway id). */
export const GATEWAY_GROUP = 'gateway';

/** Stream entry field holding the JSON-encoded {@link StreamChange}. */
export const CHANGE_FIELD = 'c';

/**
 * Gateway stream entry field: the id of the entry the worker appended to that same gateway
 * stream just before this one, or {@link ORIGIN_ID} when the stream held nothing. A gateway
 * whose last read id differs from it has missed entries (trim, lapse, recreated stream, lost
 * Redis) and must resync from history or reset.
 */
export const PREV_FIELD = 'p';

/**
 * Entry field of a reset marker, written to history and to every live gateway stream with
 * one id, in place of {@link CHANGE_FIELD}. Its value is a {@link MarkerReason}. Every
 * subscription that reaches the marker (live, or replaying across it) is reset and
 * re-snapshotted: the change set it stands for cannot be expressed as row changes.
 */
export const RESET_FIELD = 'r';

/**
 * The reasons a reset marker can carry, the part of {@link ResetReason} history itself
 * decides: `resnapshot`: Debezium snapshotted the table again (lost slot); `truncate`:
 * TRUNCATE orders; `undeliverable`: the worker could not deliver a change (dead-lettered:
 * undecodable, or a row the contract rejects), so any subscription may be missing it.
 */
export type MarkerReason = Extract<ResetReason, 'resnapshot' | 'truncate' | 'undeliverable'>;

export type { ChangeOp } from '../order.ts';
export { ORIGIN_ID } from '../stream-id.ts';

/**
 * One decoded Debezium change as stored in Redis (field {@link CHANGE_FIELD}).
 * `row` is the state after the change; for a delete it is the deleted row.
 * `before` is the state before (null for inserts and snapshot reads).
 */
export interface StreamChange {
  op: ChangeOp;
  row: Order;
  before: Order | null;
  /** Commit time in PostgreSQL (Debezium `source.ts_ms`). */
  committedAt: number;
  /**
   * PostgreSQL transaction id (Debezium `source.txId`): 32 bits for a streamed change, the
   * full 64-bit id for a snapshot read. Gateways test it against their snapshots' visibility
   * to drop a replayed change a snapshot already reflects. Absent when Debezium gives none.
   */
  txId?: number | undefined;
  lsn: string;
  kafka: { topic: string; partition: number; offset: string; timestamp: number };
}
