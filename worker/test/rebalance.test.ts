/** Two workers in one group, a second one joining and the first leaving mid-burst. */
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatGateway } from '../src/registry.ts';
import { burst, trickle } from './support/debezium.ts';
import {
  connectAdmin,
  connectProducer,
  connectRedis,
  createTestKafka,
  createTopic,
  dropNamespace,
  type TestRedis,
} from './support/services.ts';
import { expectExactlyOnce, readStream, waitFor, waitForLength } from './support/streams.ts';
import { keepAlive, type RunningWorker, readyWithin, startWorker, suiteNames } from './support/worker.ts';

async function consumed(worker: RunningWorker): Promise<number> {
  const metric = await worker.metrics.consumed.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

describe('rebalance mid-burst', () => {
  const suite = suiteNames('rebal');
  let redis: TestRedis;
  let admin: Admin;
  let producer: Producer;
  let stopBeats: () => void;
  const running: RunningWorker[] = [];

  beforeAll(async () => {
    redis = await connectRedis();
    const kafka = createTestKafka();
    admin = await connectAdmin(kafka);
    await createTopic(admin, suite.topic, 6);
    await createTopic(admin, suite.dlq, 1);
    producer = await connectProducer(kafka);
    for (const id of ['gw-1', 'gw-2', 'gw-3']) await heartbeatGateway(redis, suite.keys, id);
    stopBeats = keepAlive(redis, suite.keys, ['gw-1', 'gw-2', 'gw-3']);
  });

  afterAll(async () => {
    stopBeats?.();
    for (const worker of running) await worker.stop().catch(() => {});
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [suite.topic, suite.dlq] }).catch(() => {});
    await admin?.disconnect();
    if (redis) {
      await dropNamespace(redis, suite.ns);
      await redis.close();
    }
  });

  it('stays exactly-once while partitions move between workers', async () => {
    const messages = burst(120, 60); // 120 inserts + 7,200 updates
    const first = await startWorker(suite, 'rebal-1');
    running.push(first);
    await readyWithin(first.worker);

    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The last 2,000 records are held back until the first worker has left.
    const sending = trickle(producer, suite.topic, messages, {
      holdFrom: messages.length - 2_000,
      release: released,
    });
    await waitForLength(redis, suite.keys.history, 1_000, 90_000);
    const second = await startWorker(suite, 'rebal-2');
    running.push(second);
    await readyWithin(second.worker);
    await waitFor('the second worker to take partitions', async () => (await consumed(second)) > 0, 60_000);

    // The first worker leaves while the burst is still being forwarded.
    const atLeave = await redis.xLen(suite.keys.history);
    expect(atLeave).toBeLessThan(messages.length);
    await first.stop();
    release();

    await sending;
    await waitForLength(redis, suite.keys.history, messages.length, 120_000);
    await waitFor('the group to go idle', async () => {
      const length = await redis.xLen(suite.keys.history);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return (await redis.xLen(suite.keys.history)) === length;
    });

    const history = await readStream(redis, suite.keys.history);
    expectExactlyOnce(history, messages.length);
    for (const gateway of ['gw-1', 'gw-2', 'gw-3']) {
      expectExactlyOnce(await readStream(redis, suite.keys.gatewayStream(gateway)), messages.length, history);
    }
    expect(await consumed(first)).toBeGreaterThan(0);
  });
});
