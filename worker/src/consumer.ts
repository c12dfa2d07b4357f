/**
 * The Kafka side of the worker: a consumer-group member that turns each batch into
 * chunks, forwards every chunk to Redis in one atomic script and only then resolves and
 * commits the chunk's offsets. At-least-once from Kafka plus the script's offset mark gives
 * exactly-once per Kafka record; the script's source-position mark extends that to
 * exactly-once per PostgreSQL change, across Debezium's re-sends.
 */

import { backoffDelay, sleep } from '@orders/contract';
import {
  keyGroups,
  publishPartitionCount,
  type RedisClient,
  type RedisKeys,
  type ShardedKeys,
  shardOf,
} from '@orders/contract/redis';
import { type Admin, type Consumer, type EachBatchPayload, type Kafka, Partitioners } from 'kafkajs';
import type { Logger } from 'pino';
import { splitBatch } from './batching.ts';
import { createDeadLetterSink } from './dead-letter.ts';
import {
  createForwarder,
  dropStaleMark,
  type Forwarder,
  type ForwardOptions,
  type ForwardResult,
  markField,
  offsetAtLeast,
  type Regression,
  readMark,
} from './forward.ts';
import { recordForward } from './forward-metrics.ts';
import type { WorkerMetrics } from './metrics.ts';

export interface WorkerConfig {
  topic: string;
  groupId: string;
  dlqTopic: string;
  forward: ForwardOptions;
  /** Records per Lua call; bounds how long one script blocks Redis. Default 1000. */
  chunkSize?: number;
  /** Bytes a fetch waits for before the broker answers (kafkajs `minBytes`). Default 1. */
  fetchMinBytes?: number;
  /** Longest a fetch waits for `fetchMinBytes` (kafkajs `maxWaitTimeInMs`). Default 1000. */
  fetchMaxWaitMs?: number;
  /** Group session timeout; a killed worker's partitions move after this. Default 30000. */
  sessionTimeoutMs?: number;
  /**
   * Partitions processed in parallel. Safe because each partition has its own mark and
   * kafkajs never runs two batches of one partition at once; it lets one partition's Lua
   * call overlap another's decoding and saves a round trip per partition. Default 6 (the partitions of the Debezium topic).
   */
  partitionsConcurrency?: number;
  /**
   * Commit at most this often (0 = after every chunk). Commits sit on the fetch path, so
   * committing every chunk costs latency; anything forwarded but not yet committed is only
   * redelivered after a crash and then skipped by the mark. A graceful stop and a rebalance
   * always commit first. Default 1000.
   */
  commitIntervalMs?: number;
  /**
   * How often the partitions this worker wrote to are compared with what Redis holds, to
   * notice lost writes while nothing is forwarded (0: only when forwarding). Default 1000.
   */
  regressionCheckMs?: number;
  /**
   * Failed attempts of one step (dead-letter send, forward, mark check) after which its
   * partition counts as stuck: readiness turns false and `worker_partitions_stuck` counts it.
   * The step keeps being retried (backoff up to 5 s) and the partition never moves past the
   * record; skipping it would lose it silently. Default 5.
   */
  stuckAfterAttempts?: number;
}

export interface WorkerDeps {
  kafka: Kafka;
  redis: RedisClient;
  /** The namespace's keys, or its shard groups' keys in group order (`REDIS_SHARDS` > 1). */
  keys: ShardedKeys;
  logger: Logger;
  metrics: WorkerMetrics;
  config: WorkerConfig;
  /** Aborting it stops the worker gracefully, like {@link Worker.stop}. */
  signal?: AbortSignal;
  /**
   * Set to make every Kafka commit wait until this many Redis replicas hold the writes before
   * it (`REDIS_WAIT_REPLICAS`). `wait` runs `WAIT` on the connection the scripts use and
   * returns how many replicas acknowledged.
   */
  replicas?: { count: number; timeoutMs: number; wait(count: number, timeoutMs: number): Promise<number> };
}

export interface Worker {
  /** Connects, joins the group and starts consuming; resolves once the run loop is started. */
  start(): Promise<void>;
  /** Finishes the chunk in flight, commits it, leaves the group and disconnects. */
  stop(): Promise<void>;
  /** True while the consumer is a group member, Redis is connected and no partition is stuck. */
  isReady(): boolean;
  /** Resolves after a graceful stop; rejects if kafkajs gave up for good (exit and let a supervisor restart). */
  readonly done: Promise<void>;
}

export function createWorker(deps: WorkerDeps): Worker {
  const { kafka, redis, keys, metrics, config } = deps;
  const groups = keyGroups(keys);
  const groupKeys = (partition: number): RedisKeys => {
    const group = groups[shardOf(partition, groups.length)];
    if (group === undefined) throw new Error(`no shard group for partition ${partition}`);
    return group;
  };
  const logger = deps.logger.child({ component: 'worker-consumer', topic: config.topic });
  const chunkSize = config.chunkSize ?? 1_000;
  const sessionTimeout = config.sessionTimeoutMs ?? 30_000;
  const commitIntervalMs = config.commitIntervalMs ?? 1_000;
  const stuckAfter = config.stuckAfterAttempts ?? 5;
  // "topic:partition" of every partition whose current step has failed `stuckAfter` times.
  const stuck = new Set<string>();
  // Built in start(), once the cluster id (part of every mark field) is known.
  let forwarder: Forwarder | undefined;
  let clusterId = '';
  const admin: Admin = kafka.admin();
  /*
   * Per partition, the last offset this member forwarded through. A batch that starts at or
   * below it (or a partition not seen since the last join) is where a stale mark would bite:
   * a new assignment, or offsets that went back because the topic or cluster was recreated.
   * Only then is the mark checked against the log end, so the steady state costs nothing.
   */
  const processedThrough = new Map<number, bigint>();
  const stopping = new AbortController();

  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    sessionTimeout,
    heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
    // Topics are provisioned (Debezium / ops); auto-creation on KRaft makes kafkajs throw once.
    allowAutoTopicCreation: false,
    minBytes: config.fetchMinBytes ?? 1,
    maxWaitTimeInMs: config.fetchMaxWaitMs ?? 1_000,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    // Few retries inside kafkajs: the bounded, visible retrying happens in persist().
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const deadLetters = createDeadLetterSink(producer, config.dlqTopic);

  let joined = false;
  let started = false;
  let lastCommitAt = Date.now();
  // The latest batch's handle on kafkajs' resolved-offset bookkeeping, for the final commit.
  let commitResolved: (() => Promise<void>) | undefined;
  const inFlight = new Set<Promise<void>>();
  let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Callers that never await `done` must not see an unhandled rejection.
  done.catch(() => {});

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    processedThrough.clear();
    forwarder?.rejoined();
    logger.info({ memberId: payload.memberId, assignment: payload.memberAssignment }, 'joined group');
    // A join follows any change of the topic's partitions: tell the gateways the count again.
    void publishPartitions().catch((error: unknown) =>
      logger.warn({ err: error }, 'publishing the partition count failed; the next join tries again'),
    );
  });
  consumer.on(consumer.events.STOP, () => {
    joined = false;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    if (!payload.restart) settle?.reject(payload.error);
  });

  function setStuck(key: string, isStuck: boolean): void {
    if (isStuck) stuck.add(key);
    else stuck.delete(key);
    metrics.partitionsStuck.set(stuck.size);
  }

  /**
   * Retries `step` with backoff until it succeeds or the batch is no longer ours. Heartbeats
   * between attempts keep the partitions assigned while Redis or the DLQ is briefly down.
   * After `stuckAfter` failures the partition is reported stuck (not ready, gauge) and the
   * retries go on: the record is neither skipped nor resolved. Returns false when the batch
   * must be abandoned (stopping or rebalanced); nothing is resolved then, so the records come
   * back later and the mark deduplicates them.
   */
  async function persist(
    stage: string,
    payload: EachBatchPayload,
    step: () => Promise<void>,
  ): Promise<boolean> {
    const { topic, partition } = payload.batch;
    const key = `${topic}:${partition}`;
    try {
      for (let attempt = 0; ; attempt++) {
        // A stop lets the attempt in progress finish but does not wait out an outage.
        if (!payload.isRunning() || payload.isStale() || (attempt > 0 && stopping.signal.aborted))
          return false;
        try {
          await step();
          return true;
        } catch (error) {
          metrics.errors.inc({ stage });
          const isStuck = attempt + 1 >= stuckAfter;
          if (isStuck && !stuck.has(key)) {
            logger.error(
              { err: error, stage, partition },
              'partition stuck: retrying until the step succeeds',
            );
          } else logger.error({ err: error, stage, attempt, partition }, 'retrying');
          setStuck(key, isStuck);
          await sleep(backoffDelay(attempt, 100, 5_000), stopping.signal);
          await payload.heartbeat();
        }
      }
    } finally {
      // Done, or handed back (stop, rebalance): this member no longer holds it up.
      setStuck(key, false);
    }
  }

  /*
   * With replicas required, a commit waits for them: an offset committed for a write only the
   * primary holds is lost for good if a replica that lacks it is promoted (the worker would
   * still notice and reset every subscription, but could not forward the window again). Too
   * few replicas put the commit off, never the forwarding: the offsets stay uncommitted, so a
   * crash redelivers more records, which the marks skip.
   */
  async function replicated(): Promise<boolean> {
    const { replicas } = deps;
    if (replicas === undefined || replicas.count === 0) return true;
    const acked = await replicas.wait(replicas.count, replicas.timeoutMs);
    if (acked >= replicas.count) return true;
    metrics.commitsDeferred.inc();
    logger.warn({ acked, required: replicas.count }, 'Redis replicas behind: Kafka commit put off');
    return false;
  }

  async function commit(payload: EachBatchPayload): Promise<void> {
    lastCommitAt = Date.now();
    if (!(await replicated())) return;
    await payload.commitOffsetsIfNecessary(payload.uncommittedOffsets());
  }

  async function heartbeat(payload: EachBatchPayload): Promise<void> {
    try {
      await payload.heartbeat();
    } catch (error) {
      // A rebalance is starting: hand over what is done so the next owner redelivers less.
      await commit(payload).catch(() => {});
      throw error;
    }
  }

  /**
   * A mark is the highest offset forwarded, so in the current incarnation of the topic it is
   * always below the log end. One at or past the end was left by a deleted incarnation (topic
   * recreated under the same name): it would silently skip every new record up to it, so it
   * is reset, loudly.
   */
  async function checkMark(
    topic: string,
    partition: number,
    firstOffset: string,
  ): Promise<Regression | null> {
    const field = markField(clusterId, topic, partition);
    const markKeys = groupKeys(partition);
    const mark = await readMark(redis, markKeys, field);
    const resumed = () => forwarder?.checkResumed(topic, partition, firstOffset) ?? Promise.resolve(null);
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
    consumer.seek({ topic, partition, offset: String(from) });
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
    commitResolved = () => commit(payload);
    const active = forwarder;
    if (active === undefined) throw new Error('worker not started');
    let resumed: Regression | null = null;
    const checked =
      !needsMarkCheck(batch) ||
      (await persist('mark-check', payload, async () => {
        resumed = await checkMark(batch.topic, batch.partition, batch.firstOffset() ?? '0');
      }));
    // A regression found on resuming: read again from Redis's mark, this batch is not forwarded.
    const rewound = resumed !== null && onRegression(resumed);
    for (const chunk of checked && !rewound ? splitBatch(batch, chunkSize, metrics, logger) : []) {
      if (!payload.isRunning() || payload.isStale() || stopping.signal.aborted) break;
      // Dead letters first: once the mark passes them there is no second chance.
      if (!(await persist('dead-letter', payload, () => deadLetters.send(chunk.letters)))) break;
      for (const letter of chunk.letters) metrics.deadLettered.inc({ reason: letter.reason });

      let seeking = false;
      // Even a chunk of ignored records goes through the script: the offset mark then always
      // reaches what is committed, which is how a lost write is told from a skipped record.
      const forwarded = await persist('forward', payload, async () => {
        const send = () =>
          active.forwardRecords(batch.topic, batch.partition, chunk.lastOffset, chunk.records);
        let result: ForwardResult = await send();
        if (result.regression !== undefined) {
          seeking = onRegression(result.regression);
          // Nothing of the partition is left in Redis: forward on from here.
          if (!seeking) result = await send();
        }
        if (!seeking) recordForward(metrics, logger, result, chunk.records, batch.topic);
      });
      if (!forwarded || seeking) break;

      payload.resolveOffset(chunk.lastOffset);
      processedThrough.set(batch.partition, BigInt(chunk.lastOffset));
      const lag = BigInt(batch.highWatermark) - BigInt(chunk.lastOffset) - 1n;
      metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(lag));
      if (Date.now() - lastCommitAt >= commitIntervalMs) await commit(payload);
      await heartbeat(payload);
    }
    if (stopping.signal.aborted || !payload.isRunning()) await commit(payload);
    const seconds = endTimer();
    if (logger.isLevelEnabled('debug')) {
      const first = batch.messages[0];
      logger.debug(
        {
          partition: batch.partition,
          records: batch.messages.length,
          ms: Math.round(seconds * 1000),
          waitedMs: first ? Date.now() - Math.round(seconds * 1000) - Number(first.timestamp) : 0,
        },
        'batch done',
      );
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    // Stopping: leave the batch unresolved; it is redelivered to whoever owns it next.
    if (stopping.signal.aborted) return;
    const run = processBatch(payload);
    inFlight.add(run);
    try {
      await run;
    } finally {
      inFlight.delete(run);
    }
  }

  async function stop(): Promise<void> {
    if (stopping.signal.aborted) return done;
    stopping.abort();
    logger.info('stopping');
    try {
      // Batches in flight stop at the next chunk and commit; then commit what earlier
      // batches resolved, while still a group member, and leave.
      await Promise.allSettled(inFlight);
      await commitResolved?.().catch((error: unknown) => logger.warn({ err: error }, 'final commit failed'));
      await consumer.stop();
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
      settle?.resolve();
    } catch (error) {
      settle?.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return done;
  }

  /*
   * A partition that forwards nothing would never notice Redis going back in time, and its
   * clients would sit on a history that lost entries. So the marks this worker wrote are
   * compared with Redis every `regressionCheckMs`; a loss rotates the epoch at once. The
   * partition's next forward then finds the same loss (covered by that rotation) and re-reads
   * the window from Kafka.
   */
  async function watchRegressions(everyMs: number): Promise<void> {
    while (!stopping.signal.aborted) {
      await sleep(everyMs, stopping.signal).catch(() => {});
      if (stopping.signal.aborted || forwarder === undefined) return;
      try {
        for (const regression of await forwarder.checkWritten()) {
          if (!regression.rotated) continue;
          metrics.epochRotations.inc({ topic: regression.topic });
          logger.error(
            { partition: regression.partition, mark: regression.mark },
            'Redis lost writes of this partition: history has a new epoch, subscriptions reset',
          );
        }
      } catch (error) {
        logger.warn({ err: error }, 'comparing written marks with Redis failed; trying again');
      }
    }
  }

  /** Writes the topic's partition count where gateways read it (see `publishPartitionCount`). */
  async function publishPartitions(): Promise<void> {
    const metadata = await admin.fetchTopicMetadata({ topics: [config.topic] });
    const count = metadata.topics[0]?.partitions.length ?? 0;
    if (count > 0) await publishPartitionCount(redis, keys, count);
  }

  deps.signal?.addEventListener('abort', () => void stop(), { once: true });

  return {
    async start() {
      if (started) throw new Error('worker already started');
      started = true;
      await admin.connect();
      ({ clusterId } = await admin.describeCluster());
      forwarder = createForwarder(redis, keys, config.forward, clusterId);
      // Not fatal: the topic may not exist yet; every group join publishes it again.
      await publishPartitions().catch((error: unknown) =>
        logger.warn({ err: error }, 'publishing the partition count failed; the next join tries again'),
      );
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: config.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.partitionsConcurrency ?? 6,
        eachBatch,
      });
      logger.info({ groupId: config.groupId, clusterId }, 'consuming');
      const everyMs = config.regressionCheckMs ?? 1_000;
      if (everyMs > 0) void watchRegressions(everyMs);
    },
    stop,
    isReady: () => joined && !stopping.signal.aborted && redis.isReady && stuck.size === 0,
    done,
  };
}
