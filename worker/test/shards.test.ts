/** Shard groups in the forward step, the registry and the reaper, against real Redis. */

import {
  heartbeatGateway,
  publishPartitionCount,
  type RedisKeys,
  readPartitionCount,
  type StreamChange,
  shardKeys,
} from '@orders/contract/redis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createForwarder, type ForwardRecord } from '../src/forward.ts';
import { markField } from '../src/marks.ts';
import { runGatewayReaper } from '../src/reaper.ts';
import { forwardChanges } from '../src/testing/index.ts';
import { connectRedis, type TestRedis, uniqueName } from './support/services.ts';
import { expectExactlyOnce, expectPredecessorChain, readRaw, readStream } from './support/streams.ts';

const TOPIC = 'orders.public.orders';
const CLUSTER = 'test-cluster';
const OPTIONS = { gatewayTtlMs: 5_000, historyMaxlen: 10_000, gatewayMaxlen: 10_000 };
const SHARDS = 3;

function changes(partition: number, fromOffset: number, count: number): StreamChange[] {
  return Array.from({ length: count }, (_, i) => {
    const offset = fromOffset + i;
    return {
      op: 'update',
      row: {
        id: 100 * partition + (offset % 10),
        customerName: 'c',
        productName: 'p',
        status: 'paid',
        version: 1 + offset,
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:00.000Z',
      },
      before: null,
      committedAt: 0,
      lsn: String(offset),
      kafka: { topic: TOPIC, partition, offset: String(offset), timestamp: Date.now() },
    };
  });
}

function record(change: StreamChange, position: [number, number], extra: Partial<ForwardRecord> = {}) {
  return {
    offset: change.kafka.offset,
    change,
    position: { commit: String(position[0]), change: String(position[1]) },
    snapshotRead: false,
    reset: null,
    ...extra,
  } satisfies ForwardRecord;
}

describe('shard groups in the worker (REDIS_SHARDS=3)', () => {
  let redis: TestRedis;
  let ns: string;
  let groups: RedisKeys[];

  beforeAll(async () => {
    redis = await connectRedis();
    ns = uniqueName('shd');
    groups = shardKeys(ns, SHARDS);
  });
  afterAll(async () => {
    for await (const keys of redis.scanIterator({ MATCH: `{${ns}:*`, COUNT: 1000 }))
      if (keys.length > 0) await redis.del(keys);
    await redis.close();
  });

  it('writes the topic partition count into every group, where gateways read it', async () => {
    for (const keys of groups) expect(await readPartitionCount(redis, keys)).toBe(0);
    await publishPartitionCount(redis, groups, 6);
    for (const keys of groups) expect(await readPartitionCount(redis, keys)).toBe(6);
    await expect(publishPartitionCount(redis, groups, 0)).rejects.toThrow(/partition count/);
  });

  it("puts partition p's changes, marks and epoch in group p mod 3 only, exactly once", async () => {
    const forwarder = createForwarder(redis, groups, OPTIONS, CLUSTER);
    for (const keys of groups) {
      await heartbeatGateway(redis, keys, 'a');
      await heartbeatGateway(redis, keys, 'b');
    }
    for (let partition = 0; partition < 6; partition++) {
      const result = await forwardChanges(forwarder, TOPIC, partition, '19', changes(partition, 0, 20));
      expect(result).toMatchObject({ skipped: 0, gateways: 2 });
      // A redelivery is skipped by the mark of the partition's own group.
      const again = await forwardChanges(forwarder, TOPIC, partition, '24', changes(partition, 10, 15));
      expect(again).toMatchObject({ skipped: 10 });
    }
    for (const [g, keys] of groups.entries()) {
      const history = await readStream(redis, keys.history);
      // Partitions g and g + 3: 25 changes each.
      expectExactlyOnce(history, 50);
      expect(new Set(history.map((e) => e.change.kafka.partition))).toEqual(new Set([g, g + 3]));
      for (const gateway of ['a', 'b']) {
        expectExactlyOnce(await readStream(redis, keys.gatewayStream(gateway)), 50, history);
        expectPredecessorChain(await readRaw(redis, keys.gatewayStream(gateway)));
      }
      expect(Object.keys(await redis.hGetAll(keys.highWater)).sort()).toEqual(
        [g, g + 3].map((p) => markField(CLUSTER, TOPIC, p)).sort(),
      );
      expect(await redis.get(keys.epoch)).toMatch(/^[0-9a-f]{16}$/);
    }
    // Three histories, three epochs of their own.
    const epochs = await Promise.all(groups.map((k) => redis.get(k.epoch)));
    expect(new Set(epochs).size).toBe(SHARDS);
    expect(await redis.exists(`{${ns}}:history`)).toBe(0);
  });

  it('a re-snapshot marker clears the source marks of every group, not only its own', async () => {
    const forwarder = createForwarder(redis, groups, OPTIONS, CLUSTER);
    const topic = 'resnap.public.orders';
    // Partitions 0, 1, 2 (one per group) forward changes with source positions.
    for (let partition = 0; partition < 3; partition++) {
      const [change] = changes(partition, 0, 1).map((c) => ({ ...c, kafka: { ...c.kafka, topic } }));
      if (change === undefined) throw new Error('no change');
      await forwarder.forwardRecords(topic, partition, '0', [record(change, [500, 1])]);
    }
    for (const keys of groups) expect(Object.keys(await redis.hGetAll(keys.sourceMark))).toHaveLength(1);
    // A resnapshot marker on partition 0 (group 0), with its snapshot read.
    const [read] = changes(0, 1, 1).map((c) => ({ ...c, kafka: { ...c.kafka, topic } }));
    if (read === undefined) throw new Error('no change');
    // Snapshot reads carry no source position.
    const result = await forwarder.forwardRecords(topic, 0, '1', [
      { ...record(read, [0, 0], { snapshotRead: true, reset: 'resnapshot' }), position: null },
    ]);
    expect(result.markers).toBe(1);
    // Every group's marks of the topic are gone, so post-snapshot changes (positions below the
    // old marks) pass in every partition.
    for (const keys of groups) expect(await redis.hGetAll(keys.sourceMark)).toEqual({});
    const [later] = changes(1, 1, 1).map((c) => ({ ...c, kafka: { ...c.kafka, topic } }));
    if (later === undefined) throw new Error('no change');
    const passed = await forwarder.forwardRecords(topic, 1, '1', [record(later, [11, 1])]);
    expect(passed).toMatchObject({ sourceSkipped: 0 });
    expect(passed.ids).toHaveLength(1);
  });

  it('the reaper sweeps every group: a silent gateway loses its registration and stream in each', async () => {
    for (const keys of groups) await heartbeatGateway(redis, keys, 'silent');
    for (const keys of groups) expect(await redis.exists(keys.gatewayStream('silent'))).toBe(1);
    const stop = new AbortController();
    const reaper = runGatewayReaper({
      redis,
      keys: groups,
      logger: pino({ level: 'silent' }),
      gatewayTtlMs: 200,
      intervalMs: 50,
      signal: stop.signal,
    });
    const deadline = Date.now() + 20_000;
    const gone = async () => {
      for (const keys of groups) {
        if ((await redis.exists(keys.gatewayStream('silent'))) === 1) return false;
        if ((await redis.zScore(keys.gateways, 'silent')) !== null) return false;
      }
      return true;
    };
    while (!(await gone())) {
      if (Date.now() > deadline) throw new Error('the silent gateway was not reaped in every group');
      await new Promise((r) => setTimeout(r, 50));
    }
    stop.abort();
    await reaper;
  });
});
