/**
 * What happens to one partition's batch: the mark checks a new assignment needs, then chunk by
 * chunk dead letters, the forward step and the offsets resolved. A step that fails is retried
 * (the record is never skipped); a partition whose step keeps failing counts as stuck.
 */
import { backoffDelay, sleep } from '@orders/contract';
import {
  keyGroups,
  type RedisClient,
  type RedisKeys,
  type ShardedKeys,
  shardOf,
} from '@orders/contract/redis';
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import { splitBatch } from './batching.ts';
import type { DeadLetterSink } from './dead-letter.ts';
import type { Forwarder, ForwardResult, Regression } from './forward.ts';
import { recordForward } from './forward-metrics.ts';
import { dropStaleMark, readMark } from './mark-store.ts';
import { markField, offsetAtLeast } from './marks.ts';
import type { WorkerMetrics } from './metrics.ts';
import type { OffsetCommits } from './offset-commits.ts';

export interface PartitionRunnerDeps {
  redis: RedisClient;
  keys: ShardedKeys;
  /** Reads log ends for the stale-mark check. */
  admin: Admin;
  /** Seeks a partition back to re-read what Redis lost. */
  consumer: Pick<Consumer, 'seek'>;
  deadLetters: DeadLetterSink;
  forwarder: Forwarder;
  clusterId: string;
  commits: OffsetCommits;
  metrics: WorkerMetrics;
  logger: Logger;
  /** Records per forward step. */
  chunkSize: number;
  /** Failed attempts of one step after which its partition counts as stuck. */
  stuckAfter: number;
  /** Aborted when the worker stops: the chunk in progress finishes, no outage is waited out. */
  stopping: AbortSignal;
}

export interface PartitionRunner {
  processBatch(payload: EachBatchPayload): Promise<void>;
  /** The group was joined again: every partition is checked anew before it forwards. */
  rejoined(): void;
  /** Partitions whose current step has failed `stuckAfter` times. */
  stuckCount(): number;
}

export function createPartitionRunner(deps: PartitionRunnerDeps): PartitionRunner {
  const { redis, admin, forwarder, clusterId, commits, metrics, logger, stopping } = deps;
  const groups = keyGroups(deps.keys);
  // "topic:partition" of every partition whose current step has failed `stuckAfter` times.
  const stuck = new Set<string>();
  /*
   * Per partition, the last offset this member forwarded through. A batch that starts at or
   * below it (or a partition not seen since the last join) is where a stale mark would bite:
   * a new assignment, or offsets that went back because the topic or cluster was recreated.
   * Only then is the mark checked against the log end, so the steady state costs nothing.
   */
  const processedThrough = new Map<number, bigint>();

  function setStuck(key: string, isStuck: boolean): void {
    if (isStuck) stuck.add(key);
    else stuck.delete(key);
    metrics.partitionsStuck.set(stuck.size);
  }

  /**
   * Runs `step` until it succeeds or the batch is no longer ours, with backoff in between.
   * Heartbeats between attempts keep the partitions assigned while Redis or the DLQ is briefly
   * down. After `stuckAfter` failures the partition is reported stuck (not ready, gauge) and
   * the retries go on: the record is neither skipped nor resolved. Returns false when the
   * batch must be abandoned (stopping or rebalanced); nothing is resolved then, so the records
   * come back later and the mark deduplicates them.
   */
  async function retryUntilDone(
    stage: string,
    payload: EachBatchPayload,
    step: () => Promise<void>,
  ): Promise<boolean> {
    const { topic, partition } = payload.batch;
    const key = `${topic}:${partition}`;
    try {
      for (let attempt = 0; ; attempt++) {
        // A stop lets the attempt in progress finish but does not wait out an outage.
        if (!payload.isRunning() || payload.isStale() || (attempt > 0 && stopping.aborted)) return false;
        try {
          await step();
          return true;
        } catch (error) {
          metrics.errors.inc({ stage });
          const isStuck = attempt + 1 >= deps.stuckAfter;
          if (isStuck && !stuck.has(key)) {
            logger.error(
              { err: error, stage, partition },
              'partition stuck: retrying until the step succeeds',
            );
          } else logger.error({ err: error, stage, attempt, partition }, 'retrying');
          setStuck(key, isStuck);
          await sleep(backoffDelay(attempt, 100, 5_000), stopping);
          await payload.heartbeat();
        }
      }
    } finally {
      // Done, or handed back (stop, rebalance): this member no longer holds it up.
      setStuck(key, false);
    }
  }

  /**
   * A mark is the highest offset forwarded, so in the current incarnation of the topic it is
   * always below the log end. One at or past the end was left by a deleted incarnation (topic
   * recreated under the same name): it would silently skip every new record up to it, so it
   * is reset, loudly. Otherwise the mark is compared with where the partition resumes.
   */
  async function checkMark(
    topic: string,
    partition: number,
    firstOffset: string,
  ): Promise<Regression | null> {
    const field = markField(clusterId, topic, partition);
    const markKeys: RedisKeys | undefined = groups[shardOf(partition, groups.length)];
    if (markKeys === undefined) throw new Error(`no shard group for partition ${partition}`);
    const mark = await readMark(redis, markKeys, field);
    const resumed = () => forwarder.checkResumed(topic, partition, firstOffset);
    if (mark === null) return resumed();
    // The end is read after the mark: any offset that was in the log when the mark was
    // read is below it, so a legitimate mark can never look stale.
    const offsets = await admin.fetchTopicOffsets(topic);
    const end = offsets.find((o) => o.partition === partition)?.high;
    if (end === undefined) throw new Error(`no log end offset for ${topic}/${partition}`);
    if (!offsetAtLeast(mark, end)) return resumed();
    const dropped = await dropStaleMark(redis, markKeys, field, mark);
    logger.warn(
      { partition, field, mark, logEnd: end, dropped },
      dropped
        ? 'high-water mark at or past the log end (topic recreated?): reset it so records are not skipped'
        : 'stale high-water mark already replaced by another worker',
    );
    if (dropped) metrics.staleMarksReset.inc({ topic });
    return null;
  }

  /**
   * Redis no longer holds writes this worker (or the partition's previous owner) made and
   * Kafka offsets were committed for: a failover to a lagging replica, or a crash that lost
   * the last second of an append-only file. The epoch was rotated (by this call or an earlier
   * one for the same loss), so every subscription resets instead of resuming into a history
   * without those entries. Where Redis still holds a mark, the partition is read again from
   * just after it, so the lost window is forwarded again; returns true when it seeks.
   */
  function onRegression(regression: Regression): boolean {
    const { topic, partition, mark, rotated } = regression;
    if (rotated) metrics.epochRotations.inc({ topic });
    logger.error(
      { partition, mark, epochRotated: rotated },
      mark === null
        ? 'Redis lost every write of this partition: history has a new epoch, subscriptions reset'
        : 'Redis lost writes of this partition: history has a new epoch, subscriptions reset, and the lost window is read again from Kafka',
    );
    if (mark === null) return false;
    const from = BigInt(mark) + 1n;
    deps.consumer.seek({ topic, partition, offset: String(from) });
    processedThrough.set(partition, from - 1n);
    return true;
  }

  function needsMarkCheck(batch: EachBatchPayload['batch']): boolean {
    const first = batch.firstOffset();
    if (first === null) return false;
    const through = processedThrough.get(batch.partition);
    return through === undefined || BigInt(first) <= through;
  }

  async function processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const endTimer = metrics.batchDuration.startTimer({ topic: batch.topic });
    metrics.consumed.inc({ topic: batch.topic }, batch.messages.length);
    commits.track(payload);
    let resumed: Regression | null = null;
    const checked =
      !needsMarkCheck(batch) ||
      (await retryUntilDone('mark-check', payload, async () => {
        resumed = await checkMark(batch.topic, batch.partition, batch.firstOffset() ?? '0');
      }));
    // A regression found on resuming: read again from Redis's mark, this batch is not forwarded.
    const rewound = resumed !== null && onRegression(resumed);
    for (const chunk of checked && !rewound ? splitBatch(batch, deps.chunkSize, metrics, logger) : []) {
      if (!payload.isRunning() || payload.isStale() || stopping.aborted) break;
      // Dead letters first: once the mark passes them there is no second chance.
      if (!(await retryUntilDone('dead-letter', payload, () => deps.deadLetters.send(chunk.letters)))) break;
      for (const letter of chunk.letters) metrics.deadLettered.inc({ reason: letter.reason });

      let seeking = false;
      // Even a chunk of ignored records goes through the script: the offset mark then always
      // reaches what is committed, which is how a lost write is told from a skipped record.
      const done = await retryUntilDone('forward', payload, async () => {
        const send = () =>
          forwarder.forwardRecords(batch.topic, batch.partition, chunk.lastOffset, chunk.records);
        let result: ForwardResult = await send();
        if (result.regression !== undefined) {
          seeking = onRegression(result.regression);
          // Nothing of the partition is left in Redis: forward on from here.
          if (!seeking) result = await send();
        }
        if (!seeking) recordForward(metrics, logger, result, chunk.records, batch.topic);
      });
      if (!done || seeking) break;

      payload.resolveOffset(chunk.lastOffset);
      processedThrough.set(batch.partition, BigInt(chunk.lastOffset));
      const lag = BigInt(batch.highWatermark) - BigInt(chunk.lastOffset) - 1n;
      metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(lag));
      await commits.commitIfDue(payload);
      await commits.heartbeat(payload);
    }
    if (stopping.aborted || !payload.isRunning()) await commits.commit(payload);
    const seconds = endTimer();
    if (logger.isLevelEnabled('debug')) {
      const first = batch.messages[0];
      const ms = Math.round(seconds * 1000);
      const waitedMs = first ? Date.now() - ms - Number(first.timestamp) : 0;
      logger.debug(
        { partition: batch.partition, records: batch.messages.length, ms, waitedMs },
        'batch done',
      );
    }
  }

  return {
    processBatch,
    rejoined() {
      processedThrough.clear();
      forwarder.rejoined();
    },
    stuckCount: () => stuck.size,
  };
}
