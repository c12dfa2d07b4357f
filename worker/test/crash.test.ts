/** `kill -9` of a worker process in the middle of a burst, then a restart. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatGateway } from '../src/registry.ts';
import { spawnWorker, type WorkerProcess } from './support/child.ts';
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
import { keepAlive, suiteNames } from './support/worker.ts';

describe('worker killed with SIGKILL mid-burst', () => {
  const suite = suiteNames('crash');
  const logFile = join(tmpdir(), `${suite.ns}.log`);
  let redis: TestRedis;
  let admin: Admin;
  let producer: Producer;
  let stopBeats: () => void;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    redis = await connectRedis();
    const kafka = createTestKafka();
    admin = await connectAdmin(kafka);
    await createTopic(admin, suite.topic, 6);
    await createTopic(admin, suite.dlq, 1);
    producer = await connectProducer(kafka);
    for (const id of ['gw-1', 'gw-2']) await heartbeatGateway(redis, suite.keys, id);
    stopBeats = keepAlive(redis, suite.keys, ['gw-1', 'gw-2']);
  });

  afterAll(async () => {
    stopBeats?.();
    for (const worker of workers) await worker.kill('SIGKILL');
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [suite.topic, suite.dlq] }).catch(() => {});
    await admin?.disconnect();
    if (redis) {
      await dropNamespace(redis, suite.ns);
      await redis.close();
    }
  });

  it('restarts into exactly-once delivery with nothing missing', async () => {
    const messages = burst(100, 55); // 100 inserts + 5,500 updates
    const first = spawnWorker(suite, logFile);
    workers.push(first);

    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The last 1,500 records are held back until the worker is dead: a kill mid-burst, always.
    const sending = trickle(producer, suite.topic, messages, {
      holdFrom: messages.length - 1_500,
      release: released,
    });
    await waitForLength(redis, suite.keys.history, 1_500, 90_000);
    await first.kill('SIGKILL');
    const atKill = await redis.xLen(suite.keys.history);
    expect(atKill, 'the kill landed mid-burst').toBeLessThan(messages.length);
    release();

    await sending;
    const second = spawnWorker(suite, logFile);
    workers.push(second);
    // The killed member's partitions move only after its session times out (6 s here).
    await waitForLength(redis, suite.keys.history, messages.length, 120_000);
    // Give any duplicate a chance to show up before checking.
    await waitFor('the restarted worker to go idle', async () => {
      const length = await redis.xLen(suite.keys.history);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return (await redis.xLen(suite.keys.history)) === length;
    });

    const history = await readStream(redis, suite.keys.history);
    expectExactlyOnce(history, messages.length);
    for (const gateway of ['gw-1', 'gw-2']) {
      expectExactlyOnce(await readStream(redis, suite.keys.gatewayStream(gateway)), messages.length, history);
    }
    await second.kill('SIGTERM');
    expect(await second.exited, `graceful exit (logs: ${logFile})`).toBe(0);
    // A graceful stop commits everything it forwarded before leaving the group.
    const ends = await admin.fetchTopicOffsets(suite.topic);
    const [committed] = await admin.fetchOffsets({ groupId: suite.group, topics: [suite.topic] });
    const byPartition = new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
    for (const end of ends)
      expect(byPartition.get(end.partition), `partition ${end.partition}`).toBe(end.offset);
  });
});
