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
import { keyGroups, type RedisClient, runScript, type ShardedKeys, shardOf } from '@orders/contract/redis';
import { forwarded, recordArgs } from './forward-encoding.ts';
import type { ForwardRecord, ForwardResult, Regression } from './forward-records.ts';
import { markField, offsetAtLeast, topicMarkPrefix } from './marks.ts';
import { checkWrittenScript, clearTopicMarksScript } from './scripts/index.ts';
import { createWrittenMarks, type RegressionReply } from './written-marks.ts';

export type { ForwardRecord, ForwardResult, Regression } from './forward-records.ts';

export interface ForwardOptions {
  /** Gateways silent for longer than this get nothing. */
  gatewayTtlMs: number;
  /** Approximate cap of the shared history stream (`MAXLEN ~`). */
  historyMaxlen: number;
  /** Approximate cap of each gateway stream (`MAXLEN ~`). */
  gatewayMaxlen: number;
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
}

/** A fresh random epoch candidate (16 hex chars); only used when history has no epoch. */
function epochCandidate(): string {
  return randomBytes(8).toString('hex');
}

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
  const written = createWrittenMarks();
  const shardFor = (partition: number) => {
    const shard = shardOf(partition, groups.length);
    const target = groups[shard];
    if (target === undefined) throw new Error(`no shard group for partition ${partition}`);
    return { shard, target };
  };
  async function forwardRecords(
    topic: string,
    partition: number,
    throughOffset: string,
    records: readonly ForwardRecord[],
  ): Promise<ForwardResult> {
    const { shard, target } = shardFor(partition);
    if (groups.length > 1 && records.some((record) => record.reset === 'resnapshot')) {
      const topicPrefix = topicMarkPrefix(clusterId, topic);
      for (const [g, other] of groups.entries()) {
        if (g === shard) continue;
        await runScript(redis, clearTopicMarksScript, [other.group.sourceMark], [topicPrefix]);
      }
    }
    const field = markField(clusterId, topic, partition);
    const last = written.get(field);
    const { script, args } = recordArgs(clusterId, topic, records);
    const reply = (await runScript(redis, script, target.fixedKeys, [
      String(options.gatewayTtlMs),
      String(options.historyMaxlen),
      String(options.gatewayMaxlen),
      target.prefix,
      field,
      throughOffset,
      // Fresh per call, not per process: after Redis lost its data, a candidate kept from
      // before would bring the old epoch back and old cursors would look valid.
      epochCandidate(),
      last?.mark ?? '',
      last === undefined ? '' : written.coveringEpoch(shard, last.at),
      ...args,
    ])) as unknown[];
    if (Number(reply[0]) === -1) {
      const regression = written.settle(topic, partition, shard, reply as RegressionReply);
      // From here on Redis's mark is what this worker expects; the caller re-reads from it.
      if (regression.mark === null) written.delete(field);
      else written.set(field, topic, partition, regression.mark);
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
    const mark = last !== undefined && !offsetAtLeast(throughOffset, last.mark) ? last.mark : throughOffset;
    written.set(field, topic, partition, mark);
    return forwarded(records, reply);
  }
  async function check(
    topic: string,
    partition: number,
    expected: string,
    since: number,
  ): Promise<Regression | null> {
    const { shard, target } = shardFor(partition);
    const reply = (await runScript(
      redis,
      checkWrittenScript,
      [target.group.highWater, target.group.epoch],
      [
        markField(clusterId, topic, partition),
        expected,
        written.coveringEpoch(shard, since),
        epochCandidate(),
      ],
    )) as RegressionReply;
    if (Number(reply[0]) !== -1) return null;
    return written.settle(topic, partition, shard, reply);
  }
  return {
    forwardRecords,
    async checkWritten() {
      const found: Regression[] = [];
      for (const { topic, partition, mark, at } of written.all()) {
        const regression = await check(topic, partition, mark, at);
        if (regression !== null) found.push(regression);
      }
      return found;
    },
    async checkResumed(topic, partition, firstOffset) {
      const first = BigInt(firstOffset);
      if (first === 0n) return null;
      return check(topic, partition, String(first - 1n), written.joinedAt());
    },
    rejoined: () => written.rejoined(),
  };
}
