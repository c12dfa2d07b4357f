/** The real worker in this process, on a test pipeline's topic. */
import type { RedisKeys } from '@orders/contract/redis';
import { deleteTopics, ensureTopic, type TestPipeline, waitFor } from '@orders/test-harness';
import { pino } from 'pino';
import { createWorker, type Worker } from '../consumer.ts';
import { createKafka } from '../kafka.ts';
import { createMetrics, type WorkerMetrics } from '../metrics.ts';
import type { WorkerRedis } from './stand-in.ts';

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
  const kafka = createKafka([...pipeline.kafkaBrokers], `${pipeline.ns}-worker`, pino({ level: 'silent' }));
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
