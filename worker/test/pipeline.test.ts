/**
 * End to end through the real capture path: SQL in a private PostgreSQL database →
 * Debezium → Kafka → this worker → Redis history and gateway streams.
 */
import { createTestPipeline, type TestPipeline } from '@orders/drizzle/testing';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../src/contract.ts';
import { isMarker, sqlBarrier } from './support/barrier.ts';
import {
  connectAdmin,
  connectRedis,
  createTestKafka,
  createTopic,
  type TestRedis,
} from './support/services.ts';
import { expectExactlyOnce, expectGatewaysMatch, readStream, waitForLength } from './support/streams.ts';
import { closeRedis, registerGateways } from './support/suite.ts';
import { type RunningWorker, readyWithin, type Suite, startWorker } from './support/worker.ts';

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
});
