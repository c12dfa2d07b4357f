/**
 * Exactly once from the PostgreSQL commit: hand-made Debezium records with chosen source
 * positions, produced straight to the suite's topic, through the in-process worker into Redis.
 */

import { CHANGE_FIELD, ORIGIN_ID, PREV_FIELD, RESET_FIELD } from '@orders/contract/redis';
import type { Message } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../src/http.ts';
import { change, row } from './support/debezium.ts';
import {
  expectExactlyOnce,
  expectGatewaysMatch,
  expectPredecessorChain,
  readRaw,
  readStream,
  waitFor,
  waitForLength,
} from './support/streams.ts';
import { createWorkerSuite } from './support/suite.ts';
import { type RunningWorker, readyWithin, startWorker, total } from './support/worker.ts';

const GATEWAYS = ['gw-a', 'gw-b'];

describe('worker: duplicates Debezium re-sends under new offsets', () => {
  const env = createWorkerSuite('src', { partitions: 2, gatewayTtlMs: 3_000, gateways: GATEWAYS });
  const { suite } = env;
  const { keys } = suite;
  let running: RunningWorker;

  beforeAll(async () => {
    running = await startWorker(suite, 'src-1');
    await readyWithin(running.worker);
  });
  env.cleanup(async () => {
    await running?.stop();
  });

  const send = (messages: Message[], partition = 0) =>
    env.producer.send({ topic: suite.topic, messages: messages.map((m) => ({ ...m, partition })) });
  const sourceSkipped = () => total(running.metrics.sourceDuplicatesSkipped);

  it('skips re-sent changes and forwards interleaved transactions in commit order', async () => {
    const { redis } = env;
    // T1 (changes at LSN 110 and 120) commits before T2, which began earlier (changes at 105
    // and 115): the change LSN goes down, the commit LSN Debezium pairs it with goes up.
    const t1 = [
      change('c', null, row(1, 1), { sequence: ['90', '110'] }),
      change('c', null, row(2, 1), { sequence: ['90', '120'] }),
    ];
    const t2 = [
      change('c', null, row(3, 1), { sequence: ['130', '105'] }),
      change('c', null, row(4, 1), { sequence: ['130', '115'] }),
    ];
    const t3 = [change('u', row(1, 1), row(1, 2), { sequence: ['140', '1000'] })];
    await send([...t1, ...t2, ...t3]);
    await waitForLength(redis, keys.history, 5);
    const first = await readStream(redis, keys.history);
    expect(first.map((e) => e.change.row.id)).toEqual([1, 2, 3, 4, 1]);

    // Connect killed: Debezium resumes at its last flushed offset and sends everything after
    // it again, as new records, before the first new change. ("1000" vs "170": length-first.)
    const t4 = [change('u', row(2, 1), row(2, 2), { sequence: ['160', '170'] })];
    await send([...t1.slice(1), ...t2, ...t3, ...t4]);
    await waitForLength(redis, keys.history, 6);
    await waitFor('the four re-sent changes to be skipped', async () => (await sourceSkipped()) >= 4);

    const history = await readStream(redis, keys.history);
    expectExactlyOnce(history, 6);
    expect(history.slice(0, 5).map((e) => e.id)).toEqual(first.map((e) => e.id));
    expect(history[5]?.change.row).toMatchObject({ id: 2, version: 2 });
    expect(await sourceSkipped()).toBe(4);
    expect(Object.values(await redis.hGetAll(keys.sourceMark))).toEqual(['160/170 u2']);
    await expectGatewaysMatch(redis, keys, GATEWAYS, 6, history);
  });

  it('creates the history epoch once and keeps it', async () => {
    const { redis } = env;
    const epoch = await redis.get(keys.epoch);
    expect(epoch).toMatch(/^[0-9a-f]{16}$/);
    const length = await redis.xLen(keys.history);
    await send([change('u', row(3, 1), row(3, 2), { sequence: ['180', '190'] })]);
    await waitForLength(redis, keys.history, length + 1);
    expect(await redis.get(keys.epoch)).toBe(epoch);
  });

  it("names each gateway entry's predecessor, and starts over on a recreated stream", async () => {
    const { redis } = env;
    for (const gateway of GATEWAYS) {
      const entries = await readRaw(redis, keys.gatewayStream(gateway));
      expect(entries.length).toBe(await redis.xLen(keys.history));
      expectPredecessorChain(entries);
    }
    const lastOfA = (await readRaw(redis, keys.gatewayStream('gw-a'))).at(-1)?.id;
    // gw-b's stream is lost (deleted, as after a lapse or a Redis restart).
    await redis.del(keys.gatewayStream('gw-b'));
    const length = await redis.xLen(keys.history);
    await send([change('u', row(4, 1), row(4, 2), { sequence: ['200', '210'] })]);
    await waitForLength(redis, keys.history, length + 1);

    const [fresh, ...more] = await readRaw(redis, keys.gatewayStream('gw-b'));
    expect(more).toEqual([]);
    expect(fresh?.fields[PREV_FIELD]).toBe(ORIGIN_ID);
    const tailOfA = await readRaw(redis, keys.gatewayStream('gw-a'), lastOfA);
    expect(tailOfA.map((e) => e.id)).toEqual([lastOfA, fresh?.id]);
    expectPredecessorChain(tailOfA.slice(1), lastOfA);
  });

  it('forwards updates without a before image', async () => {
    const { redis } = env;
    const length = await redis.xLen(keys.history);
    await send([
      change('u', null, row(60, 2), { sequence: ['400', '410'] }),
      change('u', { id: 60 }, row(60, 3), { sequence: ['420', '430'] }),
    ]);
    await waitForLength(redis, keys.history, length + 2);
    const tail = (await readStream(redis, keys.history)).slice(length);
    expect(tail.map((e) => [e.change.op, e.change.row.version, e.change.before])).toEqual([
      ['update', 2, null],
      ['update', 3, null],
    ]);
  });

  it('writes reset markers for a re-snapshot and a TRUNCATE, with one id everywhere', async () => {
    const { redis } = env;
    // Partition 1 gets a mark far ahead of the positions that follow the re-snapshot.
    const beforeP1 = await redis.xLen(keys.history);
    await send([change('c', null, row(50, 1), { sequence: ['5000', '5010'] })], 1);
    await waitForLength(redis, keys.history, beforeP1 + 1);
    const start = (await readRaw(redis, keys.history)).length;

    // A lost slot: Debezium snapshots the table again (op r, one position for all rows), then
    // streams from a PostgreSQL whose positions start below the old marks (restored server).
    const snapshotAt = { lsn: 300, sequence: [null, '300'] as [null, string] };
    await send([
      change('r', null, row(10, 1), { ...snapshotAt, snapshot: 'first' }),
      change('r', null, row(11, 1), { ...snapshotAt, snapshot: 'true' }),
      change('r', null, row(12, 1), { ...snapshotAt, snapshot: 'last' }),
      change('u', row(10, 1), row(10, 2), { sequence: ['50', '60'] }),
    ]);
    await waitForLength(redis, keys.history, start + 6);
    await send([change('u', row(50, 1), row(50, 2), { sequence: ['55', '65'] })], 1);
    await waitForLength(redis, keys.history, start + 7);
    const truncate = change('t', null, null, { sequence: ['70', '80'] });
    await send([truncate]);
    await waitForLength(redis, keys.history, start + 8);
    // The TRUNCATE sent again under a new offset is a duplicate like any change.
    const skippedBefore = await sourceSkipped();
    await send([truncate, change('u', row(11, 1), row(11, 2), { sequence: ['90', '95'] })]);
    await waitForLength(redis, keys.history, start + 9);
    await waitFor('the re-sent TRUNCATE to be skipped', async () => (await sourceSkipped()) > skippedBefore);

    const tail = (await readRaw(redis, keys.history)).slice(start);
    const describeEntry = (fields: Record<string, string>) => {
      const reason = fields[RESET_FIELD];
      if (reason !== undefined) return reason;
      const { row: changed } = JSON.parse(fields[CHANGE_FIELD] ?? 'null') as {
        row: { id: number; version: number };
      };
      return `${changed.id}@${changed.version}`;
    };
    expect(tail.map((e) => describeEntry(e.fields))).toEqual([
      'resnapshot',
      '10@1',
      '11@1',
      'resnapshot',
      '12@1',
      '10@2',
      '50@2',
      'truncate',
      '11@2',
    ]);
    for (const gateway of GATEWAYS) {
      const entries = await readRaw(redis, keys.gatewayStream(gateway), tail[0]?.id);
      expect(entries.map((e) => e.id)).toEqual(tail.map((e) => e.id));
      expect(entries.map((e) => describeEntry(e.fields))).toEqual(tail.map((e) => describeEntry(e.fields)));
    }
    const markers = await running.metrics.registry.getSingleMetricAsString('worker_reset_markers_total');
    expect(markers).toContain('reason="resnapshot"} 2');
    expect(markers).toContain('reason="truncate"} 1');
  });
});

describe('worker: a dead-letter topic that is unavailable', () => {
  const env = createWorkerSuite('dlqdown', { partitions: 1 });
  const { suite } = env;
  const missing = `${suite.dlq}.missing`;
  let running: RunningWorker;

  beforeAll(async () => {
    running = await startWorker(suite, 'dlqdown-1', undefined, { dlqTopic: missing });
    await readyWithin(running.worker);
  });
  env.cleanup(async () => {
    await running?.stop();
    await env.admin.deleteTopics({ topics: [missing] }).catch(() => {});
  });

  it('holds the partition, reports it stuck and not ready, and never skips the record', async () => {
    const { redis, producer, admin } = env;
    const app = createHttpApp({ registry: running.metrics.registry, isReady: running.worker.isReady });
    await producer.send({
      topic: suite.topic,
      messages: [{ key: '{"id":1}', value: 'not json' }, change('c', null, row(1, 1))],
    });
    await waitFor('the partition to be reported stuck', async () => {
      return (await total(running.metrics.partitionsStuck)) === 1;
    });
    expect(running.worker.isReady()).toBe(false);
    expect((await app.request('/readyz')).status).toBe(503);
    expect(await running.metrics.registry.getSingleMetricAsString('worker_partitions_stuck')).toContain(
      'worker_partitions_stuck 1',
    );
    // The change behind the poison record waits for it.
    expect(await redis.xLen(suite.keys.history)).toBe(0);

    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: missing, numPartitions: 1 }] });
    await waitForLength(redis, suite.keys.history, 1);
    await waitFor('the partition to be released', async () => running.worker.isReady());
    expect(await total(running.metrics.partitionsStuck)).toBe(0);
    expect((await app.request('/readyz')).status).toBe(200);
    const [dlq] = await admin.fetchTopicOffsets(missing);
    expect(dlq?.high).toBe('1');
  });
});
