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
  markField,
  offsetAtLeast,
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
    logger.info({ memberId: payload.memberId, assignment: payload.memberAssignment }, 'joined group');
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

  async function commit(payload: EachBatchPayload): Promise<void> {
    await payload.commitOffsetsIfNecessary(payload.uncommittedOffsets());
    lastCommitAt = Date.now();
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
  async function checkMark(topic: string, partition: number): Promise<void> {
    const field = markField(clusterId, topic, partition);
    const markKeys = groupKeys(partition);
    const mark = await readMark(redis, markKeys, field);
    if (mark === null) return;
    // The end is read after the mark: any offset that was in the log when the mark was
    // read is below it, so a legitimate mark can never look stale.
    const offsets = await admin.fetchTopicOffsets(topic);
    const end = offsets.find((o) => o.partition === partition)?.high;
    if (end === undefined) throw new Error(`no log end offset for ${topic}/${partition}`);
    if (!offsetAtLeast(mark, end)) return;
    const dropped = await dropStaleMark(redis, markKeys, field, mark);
    logger.warn(
      { partition, field, mark, logEnd: end, dropped },
      dropped
        ? 'high-water mark at or past the log end (topic recreated?): reset it so records are not skipped'
        : 'stale high-water mark already replaced by another worker',
    );
    if (dropped) metrics.staleMarksReset.inc({ topic });
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
    const checked =
      !needsMarkCheck(batch) ||
      (await persist('mark-check', payload, () => checkMark(batch.topic, batch.partition)));
    for (const chunk of checked ? splitBatch(batch, chunkSize, metrics, logger) : []) {
      if (!payload.isRunning() || payload.isStale() || stopping.signal.aborted) break;
      // Dead letters first: once the mark passes them there is no second chance.
      if (!(await persist('dead-letter', payload, () => deadLetters.send(chunk.letters)))) break;
      for (const letter of chunk.letters) metrics.deadLettered.inc({ reason: letter.reason });

      const forwarded =
        chunk.records.length === 0 ||
        (await persist('forward', payload, async () => {
          const result = await active.forwardRecords(
            batch.topic,
            batch.partition,
            chunk.lastOffset,
            chunk.records,
          );
          recordForward(metrics, logger, result, chunk.records, batch.topic);
        }));
      if (!forwarded) break;

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

  deps.signal?.addEventListener('abort', () => void stop(), { once: true });

  return {
    async start() {
      if (started) throw new Error('worker already started');
      started = true;
      await admin.connect();
      ({ clusterId } = await admin.describeCluster());
      forwarder = createForwarder(redis, keys, config.forward, clusterId);
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
    },
    stop,
    isReady: () => joined && !stopping.signal.aborted && redis.isReady && stuck.size === 0,
    done,
  };
}
