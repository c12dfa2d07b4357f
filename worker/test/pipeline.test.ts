/**
 * End to end through the real capture path: SQL in a private PostgreSQL database →
 * Debezium → Kafka → this worker → Redis history and gateway streams.
 */

import { RESET_FIELD, redisKeys } from '@orders/contract/redis';
import { createTestPipeline, type TestPipeline } from '@orders/test-harness';
import type { Admin, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourcePosition } from '../src/source-position.ts';
import { isMarker, sqlBarrier } from './support/barrier.ts';
import {
  connectAdmin,
  connectRedis,
  createTestKafka,
  createTopic,
  type TestRedis,
} from './support/services.ts';
import {
  expectExactlyOnce,
  expectGatewaysMatch,
  readRaw,
  readStream,
  waitFor,
  waitForLength,
} from './support/streams.ts';
import { closeRedis, registerGateways } from './support/suite.ts';
import { type RunningWorker, readyWithin, type Suite, startWorker, total } from './support/worker.ts';

const GATEWAYS = ['gw-1', 'gw-2'];

type Step = [id: number, version: number, op: 'insert' | 'update' | 'delete', status: string];

describe('PostgreSQL → Debezium → Kafka → worker → Redis', () => {
  let pipeline: TestPipeline;
  let suite: Suite;
  let redis: TestRedis;
  let admin: Admin;
  let worker: RunningWorker;
  let stopBeats: () => void;

  beforeAll(async () => {
    redis = await connectRedis();
    admin = await connectAdmin(createTestKafka());
    pipeline = await createTestPipeline({ partitions: 3 });
    suite = {
      ns: pipeline.ns,
      topic: pipeline.topic,
      group: `${pipeline.ns}-worker`,
      dlq: `${pipeline.topic}.dlq`,
      keys: redisKeys(pipeline.ns),
      gatewayTtlMs: 5_000,
    };
    await createTopic(admin, suite.dlq, 1);
    stopBeats = await registerGateways(redis, suite, GATEWAYS);
    worker = await startWorker(suite, `${pipeline.ns}-worker`);
    await readyWithin(worker.worker);
  });

  afterAll(async () => {
    stopBeats?.();
    await worker?.stop();
    if (suite) await admin?.deleteTopics({ topics: [suite.dlq] }).catch(() => {});
    await admin?.disconnect();
    await pipeline?.close();
    await closeRedis(redis, suite?.ns);
  });

  it('delivers a scripted SQL sequence exactly once, in order, with one id everywhere', async () => {
    const { sql } = pipeline;
    await sql`INSERT INTO orders (id, customer_name, product_name, status) VALUES
      (1, 'Alice', 'Kettle', 'pending'), (2, 'Bob', 'Lamp', 'pending'), (3, 'Alice', 'Desk', 'pending')`;
    await sql`UPDATE orders SET status = 'paid' WHERE id = 1`;
    await sql`UPDATE orders SET status = 'paid' WHERE id IN (2, 3)`;
    await sql.begin(async (tx) => {
      await tx`UPDATE orders SET status = 'shipped' WHERE id = 1`;
      await tx`UPDATE orders SET product_name = 'Standing desk' WHERE id = 3`;
      await tx`INSERT INTO orders (id, customer_name, product_name) VALUES (4, 'Carol', 'Chair')`;
    });
    await sql`DELETE FROM orders WHERE id = 2`;
    await sql`UPDATE orders SET status = 'delivered' WHERE id = 1`;
    await sql`UPDATE orders SET status = 'cancelled' WHERE id = 4`;
    await sql`DELETE FROM orders WHERE id = 4`;

    const expected: Step[] = [
      [1, 1, 'insert', 'pending'],
      [1, 2, 'update', 'paid'],
      [1, 3, 'update', 'shipped'],
      [1, 4, 'update', 'delivered'],
      [2, 1, 'insert', 'pending'],
      [2, 2, 'update', 'paid'],
      [2, 2, 'delete', 'paid'],
      [3, 1, 'insert', 'pending'],
      [3, 2, 'update', 'paid'],
      [3, 3, 'update', 'paid'],
      [4, 1, 'insert', 'pending'],
      [4, 2, 'update', 'cancelled'],
      [4, 2, 'delete', 'cancelled'],
    ];
    await waitForLength(redis, suite.keys.history, expected.length, 90_000);
    // Anything beyond the script would be a duplicate: markers written after it, once seen on
    // every partition, leave no room for one to arrive later.
    await sqlBarrier(
      redis,
      (id) => sql`INSERT INTO orders (id, customer_name, product_name) VALUES (${id}, 'barrier', 'marker')`,
      3,
      suite.keys.history,
    );

    const withMarkers = await readStream(redis, suite.keys.history);
    const history = withMarkers.filter((e) => !isMarker(e));
    expectExactlyOnce(history, expected.length);
    const perOrder = (id: number) =>
      history
        .filter((e) => e.change.row.id === id)
        .map((e): Step => [e.change.row.id, e.change.row.version, e.change.op, e.change.row.status]);
    for (const id of [1, 2, 3, 4]) expect(perOrder(id)).toEqual(expected.filter(([order]) => order === id));

    const update = history.find((e) => e.change.row.id === 3 && e.change.row.version === 3)?.change;
    expect(update?.before).toMatchObject({ productName: 'Desk', version: 2 });
    expect(update?.row.productName).toBe('Standing desk');
    expect(update?.row.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(update?.lsn).not.toBe('');

    await expectGatewaysMatch(redis, suite.keys, GATEWAYS, withMarkers.length, withMarkers);
  });

  it('skips a change Debezium sends again, and turns TRUNCATE into a reset marker', async () => {
    const { sql } = pipeline;
    const length = await redis.xLen(suite.keys.history);
    // Real Debezium records, sent again under new offsets (what Connect does after a crash).
    const records = await readTopic(admin, pipeline.topic, length);
    const resend = records.filter(({ message }) => {
      const source = (JSON.parse(message.value?.toString() ?? 'null') as { source?: Record<string, unknown> })
        ?.source;
      return (
        sourcePosition(source?.sequence as string | undefined, source?.lsn as number | undefined) !== null
      );
    });
    expect(resend.length, 'records with a source position').toBeGreaterThan(0);
    const producer = createTestKafka().producer();
    await producer.connect();
    for (const { partition, message } of resend) {
      await producer.send({
        topic: pipeline.topic,
        messages: [{ partition, key: message.key, value: message.value }],
      });
    }
    await producer.disconnect();
    await waitFor(
      'the re-sent changes to be skipped',
      async () => (await total(worker.metrics.sourceDuplicatesSkipped)) >= resend.length,
    );
    expect(await redis.xLen(suite.keys.history)).toBe(length);

    await sql`TRUNCATE orders`;
    await waitForLength(redis, suite.keys.history, length + 1, 90_000);
    const last = (await readRaw(redis, suite.keys.history)).at(-1);
    expect(last?.fields[RESET_FIELD]).toBe('truncate');
    for (const gateway of GATEWAYS) {
      const entry = (await readRaw(redis, suite.keys.gatewayStream(gateway))).at(-1);
      expect(entry?.id).toBe(last?.id);
      expect(entry?.fields[RESET_FIELD]).toBe('truncate');
    }
  });
});

/** The first `count` records of `topic` (all partitions), read by a throwaway consumer group. */
async function readTopic(
  admin: Admin,
  topic: string,
  count: number,
): Promise<{ partition: number; message: KafkaMessage }[]> {
  const kafka = createTestKafka();
  const groupId = `${topic}-reader`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const records: { partition: number; message: KafkaMessage }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (message.value !== null) records.push({ partition, message });
      },
    });
    await waitFor(`${count} records from ${topic}`, async () => records.length >= count);
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => {});
  }
  return records;
}
