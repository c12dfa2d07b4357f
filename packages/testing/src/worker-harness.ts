import type { RedisKeys } from '@orders/contract/redis';
import { deleteTopics, ensureTopic, type TestPipeline, waitFor } from '@orders/test-infra';
import {
  createForwarder,
  createKafka,
  createMetrics,
  createWorker,
  type Forwarder,
  type Worker,
  type WorkerMetrics,
} from '@orders/worker';
import type { Kafka } from 'kafkajs';
import { pino } from 'pino';

/** The Redis connection the worker writes through (a gateway's client fits it too). */
export type WorkerRedis = Parameters<typeof createForwarder>[0];

/** The worker's Kafka client on the local broker, logging nothing. */
export function createTestKafka(clientId: string, brokers: readonly string[] = ['127.0.0.1:9092']): Kafka {
  return createKafka([...brokers], clientId, pino({ level: 'silent' }));
}

/**
 * The worker's real Lua fan-out with no Kafka behind it, for suites and benchmarks that feed
 * the streams themselves: `source` names the stand-in, and since there is no cluster its marks
 * get a cluster id of their own.
 */
export function createStandInForwarder(
  redis: WorkerRedis,
  keys: RedisKeys,
  source: string,
  maxlen: number,
): Forwarder {
  return createForwarder(
    redis,
    keys,
    { gatewayTtlMs: 10_000, historyMaxlen: maxlen, gatewayMaxlen: maxlen },
    `${source}-cluster`,
  );
}

export interface InProcessWorker {
  worker: Worker;
  metrics: WorkerMetrics;
  /** Stops the worker and deletes its dead-letter topic. */
  stop(): Promise<void>;
}

export interface InProcessWorkerOptions {
  /** @default 5000 */
  gatewayTtlMs?: number;
  /** History and gateway stream length. @default 100000 */
  maxlen?: number;
}

/**
 * The real worker, in this process, on a test pipeline's topic: its own consumer group and
 * dead-letter topic, writing under the given keys. Resolves once it has joined its group.
 */
export async function startInProcessWorker(
  pipeline: TestPipeline,
  redis: WorkerRedis,
  keys: RedisKeys,
  options: InProcessWorkerOptions = {},
): Promise<InProcessWorker> {
  const maxlen = options.maxlen ?? 100_000;
  const kafka = createTestKafka(`${pipeline.ns}-worker`, pipeline.kafkaBrokers);
  const dlq = `${pipeline.topic}.dlq`;
  const admin = kafka.admin();
  await admin.connect();
  const dropDlq = async () => {
    await deleteTopics(admin, [dlq]).catch(() => {});
    await admin.disconnect();
  };
  const metrics = createMetrics({ processMetrics: false });
  const worker = createWorker({
    kafka,
    redis,
    keys,
    logger: pino({ level: 'silent' }),
    metrics,
    config: {
      topic: pipeline.topic,
      groupId: `${pipeline.ns}-worker`,
      dlqTopic: dlq,
      sessionTimeoutMs: 6_000,
      forward: { gatewayTtlMs: options.gatewayTtlMs ?? 5_000, historyMaxlen: maxlen, gatewayMaxlen: maxlen },
    },
  });
  const stop = async () => {
    await worker.stop().catch(() => {});
    await dropDlq();
  };
  try {
    await ensureTopic(admin, dlq, 1);
    await worker.start();
    await waitFor(async () => (worker.isReady() ? true : undefined), {
      description: 'worker to join its group',
      timeoutMs: 60_000,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { worker, metrics, stop };
}
