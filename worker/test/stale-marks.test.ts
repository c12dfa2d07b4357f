/**
 * High-water marks that outlived the offsets they refer to: marks of another Kafka cluster
 * (or of a version that did not key marks by cluster), a mark of this cluster far past the
 * partition's end, and a topic deleted and recreated under the same name while Redis kept
 * its marks. In every case each new record must still arrive, exactly once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { markField } from '../src/marks.ts';
import { burst } from './support/debezium.ts';
import { connectProducer, createTopic } from './support/services.ts';
import { expectExactlyOnce, readStream, waitFor, waitForLength } from './support/streams.ts';
import { createWorkerSuite } from './support/suite.ts';
import { type RunningWorker, readyWithin, startWorker, total } from './support/worker.ts';

const PARTITIONS = 3;
const FAR_AHEAD = '1000000';

const counted = (worker: RunningWorker) => total(worker.metrics.staleMarksReset);

describe('stale high-water marks', () => {
  const env = createWorkerSuite('stale', { partitions: PARTITIONS });
  const { suite } = env;
  let clusterId: string;
  let running: RunningWorker | undefined;

  beforeAll(async () => {
    ({ clusterId } = await env.admin.describeCluster());
  });
  env.cleanup(async () => {
    await running?.stop().catch(() => {});
  });

  it('skips nothing because of marks from another cluster or past the end of the log', async () => {
    const { redis, producer } = env;
    for (let p = 0; p < PARTITIONS; p++) {
      // What a recreated cluster finds in a Redis that survived it: marks of the old
      // cluster's id, and marks without a cluster id (written before marks were keyed by
      // cluster). The latter lie inside the new log, where only the cluster id tells them
      // apart from a legitimate mark.
      await redis.hSet(suite.keys.highWater, markField('another-cluster', suite.topic, p), FAR_AHEAD);
      await redis.hSet(suite.keys.highWater, `${suite.topic}:${p}`, '5');
    }
    // This cluster's own mark far past the end of an empty partition: left by an earlier topic.
    await redis.hSet(suite.keys.highWater, markField(clusterId, suite.topic, 0), FAR_AHEAD);

    const messages = burst(30, 5); // 30 inserts + 150 updates
    await producer.send({ topic: suite.topic, messages });
    running = await startWorker(suite, 'stale-1');
    await readyWithin(running.worker);
    await waitForLength(redis, suite.keys.history, messages.length, 60_000);

    expectExactlyOnce(await readStream(redis, suite.keys.history), messages.length);
    expect(await counted(running)).toBe(1);
    const mark = await redis.hGet(suite.keys.highWater, markField(clusterId, suite.topic, 0));
    expect(BigInt(mark ?? FAR_AHEAD)).toBeLessThan(BigInt(messages.length));
  });

  it('forwards every record of a topic recreated under the same name while Redis kept its marks', {
    timeout: 300_000,
  }, async () => {
    const { redis, kafka, admin } = env;
    const before = await readStream(redis, suite.keys.history);
    await running?.stop();
    running = undefined;
    const marks = await redis.hGetAll(suite.keys.highWater);
    const ours = Object.keys(marks).filter((field) => field.startsWith(`${clusterId}/`));
    expect(ours.length, 'marks left by the first incarnation').toBe(PARTITIONS);

    await admin.deleteTopics({ topics: [suite.topic] });
    // Deletion completes asynchronously; creation fails until the old topic is gone.
    await waitFor(
      'the topic to be recreated',
      async () => {
        await createTopic(admin, suite.topic, PARTITIONS);
        return true;
      },
      // A deadline, not a measure: on a busy broker the old topic's removal can take minutes.
      180_000,
      500,
    );

    // Fewer records than before: every new offset is at or below an old mark.
    const messages = burst(10, 2, 1_000); // 10 inserts + 20 updates, new orders
    const fresh = await connectProducer(kafka);
    try {
      await waitFor('the new records to be produced', async () => {
        await fresh.send({ topic: suite.topic, messages });
        return true;
      });
    } finally {
      await fresh.disconnect();
    }

    running = await startWorker(suite, 'stale-2');
    await readyWithin(running.worker);
    await waitForLength(redis, suite.keys.history, before.length + messages.length, 60_000);

    const after = await readStream(redis, suite.keys.history);
    expectExactlyOnce(after, before.length + messages.length);
    expect(after.slice(0, before.length).map((e) => e.id)).toEqual(before.map((e) => e.id));
    // Every partition that got records had a stale mark to reset.
    const partitions = new Set(after.slice(before.length).map((e) => e.change.kafka.partition));
    expect(await counted(running)).toBe(partitions.size);
  });
});
