/** Builds in-process workers (the same factory main.ts uses) against the test services. */

import type { RedisClient } from '@orders/contract/redis';
import { heartbeatGateway, type RedisKeys, redisKeys } from '@orders/contract/redis';
import { pino } from 'pino';
import { createClient } from 'redis';
import { createWorker, type Worker, type WorkerConfig, type WorkerDeps } from '../../src/consumer.ts';
import { createKafka } from '../../src/kafka.ts';
import { createMetrics, type WorkerMetrics } from '../../src/metrics.ts';
import { KAFKA_BROKERS, REDIS_URL, type TestRedis } from './services.ts';

export interface Suite {
  ns: string;
  topic: string;
  group: string;
  dlq: string;
  keys: RedisKeys;
  gatewayTtlMs: number;
}

export interface RunningWorker {
  worker: Worker;
  metrics: WorkerMetrics;
  stop(): Promise<void>;
}

const logger = pino({ level: 'silent' });

export async function startWorker(
  suite: Suite,
  name: string,
  /** Lets a suite put a fault-injecting layer between the worker and Redis. */
  wrapRedis: (client: RedisClient) => RedisClient = (client) => client,
  /** Settings that differ from the suite's (e.g. a dead-letter topic that does not exist). */
  overrides: Partial<WorkerConfig> = {},
  /** Collaborators beyond the defaults (e.g. required Redis replicas). */
  extra: Pick<WorkerDeps, 'replicas'> = {},
): Promise<RunningWorker> {
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => {});
  await client.connect();
  const redis = wrapRedis(client);
  const metrics = createMetrics({ processMetrics: false });
  const worker = createWorker({
    kafka: createKafka(KAFKA_BROKERS, name, logger),
    redis,
    keys: suite.keys,
    logger,
    metrics,
    ...extra,
    config: {
      topic: suite.topic,
      groupId: suite.group,
      dlqTopic: suite.dlq,
      // Small chunks so a burst spans many Lua calls and commits.
      chunkSize: 200,
      sessionTimeoutMs: 6_000,
      forward: { gatewayTtlMs: suite.gatewayTtlMs, historyMaxlen: 1_000_000, gatewayMaxlen: 1_000_000 },
      ...overrides,
    },
  });
  await worker.start();
  return {
    worker,
    metrics,
    async stop() {
      await worker.stop();
      await client.close();
    },
  };
}

export function suiteNames(prefix: string, gatewayTtlMs = 5_000): Suite {
  const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const ns = `${prefix}-${stamp}`;
  return {
    ns,
    topic: `${ns}.public.orders`,
    group: `${ns}-worker`,
    dlq: `${ns}.public.orders.dlq`,
    keys: redisKeys(ns),
    gatewayTtlMs,
  };
}

/** Keeps test gateways alive the way a real gateway does; returns a stop function. */
export function keepAlive(redis: TestRedis, keys: RedisKeys, ids: string[], everyMs = 300): () => void {
  const beat = () => Promise.all(ids.map((id) => heartbeatGateway(redis, keys, id))).catch(() => {});
  const timer = setInterval(beat, everyMs);
  return () => clearInterval(timer);
}

export async function readyWithin(worker: Worker, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!worker.isReady()) {
    if (Date.now() > deadline) throw new Error('worker did not join its group in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The sum of a counter over all its labels. */
export async function total(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}
