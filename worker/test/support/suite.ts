/**
 * The setup every integration suite shares: a namespace/topic/group of its own, Redis, a
 * Kafka admin and producer, registered gateways kept alive, and a teardown that leaves
 * nothing behind. Suites call `createWorkerSuite()` inside `describe` and read the
 * connections from the returned object once `beforeAll` has run.
 */

import { heartbeatGateway } from '@orders/contract/redis';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import {
  connectAdmin,
  connectProducer,
  connectRedis,
  createTestKafka,
  createTopic,
  dropNamespace,
  type TestRedis,
} from './services.ts';
import { keepAlive, type Suite, suiteNames } from './worker.ts';

export interface WorkerSuiteOptions {
  /** Partitions of the orders topic (the dead-letter topic always has one). */
  partitions: number;
  gatewayTtlMs?: number;
  /** Gateways that heartbeat once before any test runs. */
  gateways?: string[];
  /** Of those, the ones kept alive for the whole suite; all of them unless said otherwise. */
  alive?: string[];
}

export interface WorkerSuite {
  suite: Suite;
  redis: TestRedis;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  /** Registers teardown (stopping workers) that must run before the connections close. */
  cleanup(step: () => Promise<unknown>): void;
}

export function createWorkerSuite(prefix: string, options: WorkerSuiteOptions): WorkerSuite {
  const { partitions, gatewayTtlMs, gateways = [], alive = gateways } = options;
  const steps: (() => Promise<unknown>)[] = [];
  let stopBeats: (() => void) | undefined;
  // Filled in by beforeAll; tests only run after it, so the fields are set when read.
  const env = {
    suite: suiteNames(prefix, gatewayTtlMs),
    cleanup(step: () => Promise<unknown>) {
      steps.push(step);
    },
  } as WorkerSuite;
  const { suite } = env;

  beforeAll(async () => {
    env.redis = await connectRedis();
    env.kafka = createTestKafka();
    env.admin = await connectAdmin(env.kafka);
    await createTopic(env.admin, suite.topic, partitions);
    await createTopic(env.admin, suite.dlq, 1);
    env.producer = await connectProducer(env.kafka);
    if (gateways.length > 0) stopBeats = await registerGateways(env.redis, suite, gateways, alive);
  });

  afterAll(async () => {
    stopBeats?.();
    for (const step of steps) await step();
    await env.producer?.disconnect();
    await env.admin?.deleteTopics({ topics: [suite.topic, suite.dlq] }).catch(() => {});
    await env.admin?.disconnect();
    await closeRedis(env.redis, suite.ns);
  });

  return env;
}

/** Heartbeats each gateway once and keeps `alive` beating; returns the stop function. */
export async function registerGateways(
  redis: TestRedis,
  suite: Suite,
  gateways: string[],
  alive: string[] = gateways,
): Promise<() => void> {
  for (const id of gateways) await heartbeatGateway(redis, suite.keys, id);
  return keepAlive(redis, suite.keys, alive);
}

/** Drops the suite's namespace and closes the client, if the suite got as far as connecting. */
export async function closeRedis(redis: TestRedis | undefined, ns: string | undefined): Promise<void> {
  if (!redis) return;
  if (ns) await dropNamespace(redis, ns);
  await redis.close();
}
