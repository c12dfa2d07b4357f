/**
 * The Kafka side of the worker: a consumer-group member that turns each batch into
 * chunks, forwards every chunk to Redis in one atomic script and only then resolves and
 * commits the chunk's offsets. At-least-once from Kafka plus the script's offset mark gives
 * exactly-once per Kafka record; the script's source-position mark extends that to
 * exactly-once per PostgreSQL change, across Debezium's re-sends.
 */

import { publishPartitionCount, type RedisClient, type ShardedKeys } from '@orders/contract/redis';
import { type Admin, type EachBatchPayload, type Kafka, Partitioners } from 'kafkajs';
import type { Logger } from 'pino';
import { createDeadLetterSink } from './dead-letter.ts';
import { createForwarder, type ForwardOptions } from './forward.ts';
import type { WorkerMetrics } from './metrics.ts';
import { createOffsetCommits, type OffsetCommits, type Replicas } from './offset-commits.ts';
import { createPartitionRunner, type PartitionRunner } from './partition-runner.ts';
import { watchRegressions } from './regression-watch.ts';

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
  replicas?: Replicas;
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

/** The worker's kafkajs clients: the group consumer, the dead-letter producer and an admin. */
function kafkaClients(kafka: Kafka, config: WorkerConfig) {
  const sessionTimeout = config.sessionTimeoutMs ?? 30_000;
  const consumer = kafka.consumer({
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
    // Few retries inside kafkajs: the bounded, visible retrying is the partition runner's.
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  return { admin: kafka.admin(), consumer, producer };
}

type KafkaClients = ReturnType<typeof kafkaClients>;

/** Joins the group and starts the run loop, which hands every batch to `eachBatch`. */
async function consume(
  { consumer, producer }: KafkaClients,
  config: WorkerConfig,
  eachBatch: (payload: EachBatchPayload) => Promise<void>,
): Promise<void> {
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: config.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.partitionsConcurrency ?? 6,
    eachBatch,
  });
}

/**
 * Batches in flight stop at their next chunk and commit; then what earlier batches resolved is
 * committed, while still a group member, and the group is left.
 */
async function leave(
  { admin, consumer, producer }: KafkaClients,
  inFlight: ReadonlySet<Promise<void>>,
  commits: OffsetCommits,
  logger: Logger,
): Promise<void> {
  await Promise.allSettled(inFlight);
  await commits.commitLatest().catch((error: unknown) => logger.warn({ err: error }, 'final commit failed'));
  await consumer.stop();
  await consumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();
}

/** Writes the topic's partition count where gateways read it (see `publishPartitionCount`). */
async function publishPartitions(admin: Admin, redis: RedisClient, keys: ShardedKeys, topic: string) {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const count = metadata.topics[0]?.partitions.length ?? 0;
  if (count > 0) await publishPartitionCount(redis, keys, count);
}

/** A promise with its settle functions; callers that never await it see no unhandled rejection. */
function settleable() {
  let resolve = () => {};
  let reject: (error: Error) => void = () => {};
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export function createWorker(deps: WorkerDeps): Worker {
  const { redis, keys, metrics, config } = deps;
  const logger = deps.logger.child({ component: 'worker-consumer', topic: config.topic });
  const clients = kafkaClients(deps.kafka, config);
  const { admin, consumer } = clients;
  const intervalMs = config.commitIntervalMs ?? 1_000;
  const commits = createOffsetCommits({ replicas: deps.replicas, metrics, logger, intervalMs });
  const stopping = new AbortController();
  const done = settleable();
  const inFlight = new Set<Promise<void>>();
  // Built in start(), once the cluster id (part of every mark field) is known.
  let runner: PartitionRunner | undefined;
  let joined = false;
  let started = false;
  const publish = () =>
    publishPartitions(admin, redis, keys, config.topic).catch((error: unknown) =>
      logger.warn({ err: error }, 'publishing the partition count failed; the next join tries again'),
    );

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    runner?.rejoined();
    logger.info({ memberId: payload.memberId, assignment: payload.memberAssignment }, 'joined group');
    // A join follows any change of the topic's partitions: tell the gateways the count again.
    void publish();
  });
  consumer.on(consumer.events.STOP, () => {
    joined = false;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    if (!payload.restart) done.reject(payload.error);
  });

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    // Stopping: leave the batch unresolved; it is redelivered to whoever owns it next.
    if (stopping.signal.aborted) return;
    if (runner === undefined) throw new Error('worker not started');
    const run = runner.processBatch(payload);
    inFlight.add(run);
    await run.finally(() => inFlight.delete(run));
  }

  async function stop(): Promise<void> {
    if (stopping.signal.aborted) return done.promise;
    stopping.abort();
    logger.info('stopping');
    await leave(clients, inFlight, commits, logger).then(done.resolve, (error: unknown) =>
      done.reject(error instanceof Error ? error : new Error(String(error))),
    );
    return done.promise;
  }

  deps.signal?.addEventListener('abort', () => void stop(), { once: true });

  return {
    async start() {
      if (started) throw new Error('worker already started');
      started = true;
      await admin.connect();
      const { clusterId } = await admin.describeCluster();
      const forwarder = createForwarder(redis, keys, config.forward, clusterId);
      const deadLetters = createDeadLetterSink(clients.producer, config.dlqTopic);
      const { chunkSize = 1_000, stuckAfterAttempts: stuckAfter = 5 } = config;
      const shared = { redis, keys, admin, consumer, metrics, logger, commits, stopping: stopping.signal };
      runner = createPartitionRunner({ ...shared, deadLetters, forwarder, clusterId, chunkSize, stuckAfter });
      // Not fatal: the topic may not exist yet; every group join publishes it again.
      await publish();
      await consume(clients, config, eachBatch);
      logger.info({ groupId: config.groupId, clusterId }, 'consuming');
      const everyMs = config.regressionCheckMs ?? 1_000;
      if (everyMs > 0) void watchRegressions(forwarder, everyMs, stopping.signal, metrics, logger);
    },
    stop,
    isReady: () => joined && !stopping.signal.aborted && redis.isReady && runner?.stuckCount() === 0,
    done: done.promise,
  };
}
