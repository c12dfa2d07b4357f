/** The Lua fan-out and the registry against real Redis (no Kafka needed). */

import {
  GATEWAY_GROUP,
  heartbeatGateway,
  liveGateways,
  type RedisKeys,
  reapGateways,
  redisKeys,
  type StreamChange,
  unregisterGateway,
} from '@orders/contract/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createForwarder, type ForwardRecord } from '../src/forward.ts';
import { dropStaleMark, readMark } from '../src/mark-store.ts';
import { markField } from '../src/marks.ts';
import { forwardChanges } from '../src/testing/index.ts';
import { connectRedis, dropNamespace, type TestRedis, uniqueName } from './support/services.ts';
import { expectExactlyOnce, expectPredecessorChain, readRaw, readStream } from './support/streams.ts';

const TOPIC = 'orders.public.orders';
const CLUSTER = 'test-cluster';
const OPTIONS = { gatewayTtlMs: 5_000, historyMaxlen: 10_000, gatewayMaxlen: 10_000 };

function changes(partition: number, fromOffset: number, count: number): StreamChange[] {
  return Array.from({ length: count }, (_, i) => {
    const offset = fromOffset + i;
    return {
      op: 'update',
      row: {
        id: 1 + (offset % 10),
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

/** Records at `fromOffset` on, record i at source position (commit, change) = `positions[i]`. */
function positioned(partition: number, fromOffset: number, positions: (readonly [number, number] | null)[]) {
  const all = changes(partition, fromOffset, positions.length);
  return all.map((change, i): ForwardRecord => {
    const position = positions[i];
    return {
      offset: change.kafka.offset,
      change,
      position: position ? { commit: String(position[0]), change: String(position[1]) } : null,
      snapshotRead: false,
      reset: null,
    };
  });
}

/** The position part of a source mark ("<commit>/<change> <identity>…"). */
const positionOfMark = (mark: string | null | undefined) => mark?.split(' ')[0];

describe('forward script and gateway registry', () => {
  let redis: TestRedis;
  let ns: string;
  let keys: RedisKeys;

  beforeAll(async () => {
    redis = await connectRedis();
    ns = uniqueName('fwd');
    keys = redisKeys(ns);
  });
  afterAll(async () => {
    await dropNamespace(redis, ns);
    await redis.close();
  });

  it('gives each change one id, shared by history and every live gateway, and skips redeliveries', async () => {
    const forwarder = createForwarder(redis, keys, OPTIONS, CLUSTER);
    expect((await heartbeatGateway(redis, keys, 'a')).created).toBe(true);
    expect((await heartbeatGateway(redis, keys, 'a')).created).toBe(false);
    await heartbeatGateway(redis, keys, 'b');

    const first = await forwardChanges(forwarder, TOPIC, 0, '99', changes(0, 0, 100));
    expect(first).toMatchObject({ skipped: 0, gateways: 2 });
    expect(first.ids).toHaveLength(100);

    // A redelivery overlapping the first call: only offsets above the mark are new.
    const second = await forwardChanges(forwarder, TOPIC, 0, '149', changes(0, 50, 100));
    expect(second).toMatchObject({ skipped: 50 });
    expect(second.ids).toHaveLength(50);
    expect((await forwardChanges(forwarder, TOPIC, 0, '149', changes(0, 0, 150))).ids).toEqual([]);

    const history = await readStream(redis, keys.history);
    expectExactlyOnce(history, 150);
    expect(history.map((e) => e.id)).toEqual([...first.ids, ...second.ids]);
    for (const gateway of ['a', 'b']) {
      expectExactlyOnce(await readStream(redis, keys.gatewayStream(gateway)), 150, history);
    }
    expect(await redis.hGet(keys.highWater, markField(CLUSTER, TOPIC, 0))).toBe('149');
    // The gateway's group exists and starts before the first entry.
    const groups = await redis.xInfoGroups(keys.gatewayStream('a'));
    expect(groups.map((g) => g.name)).toEqual([GATEWAY_GROUP]);
  });

  it('skips by offset and by source position alike, whether positions ascend in the chunk or not', async () => {
    const forwarder = createForwarder(redis, keys, OPTIONS, CLUSTER);
    await heartbeatGateway(redis, keys, 'a');
    const partition = 11;
    const field = markField(CLUSTER, TOPIC, partition);
    const gatewayBefore = await redis.xLen(keys.gatewayStream('a'));
    const historyBefore = await redis.xLen(keys.history);
    // Positions ascending: offsets 0-4 at (100, 1) … (100, 10); "10" vs "9": length first.
    const first = await forwarder.forwardRecords(
      TOPIC,
      partition,
      '4',
      positioned(partition, 0, [
        [100, 1],
        [100, 2],
        [100, 3],
        [100, 9],
        [100, 10],
      ]),
    );
    expect(first).toMatchObject({ skipped: 0, sourceSkipped: 0 });
    expect(positionOfMark(await redis.hGet(keys.sourceMark, field))).toBe('100/10');

    // Ascending again: offsets 3-4 redelivered, 5-6 re-sent by Debezium under new offsets, 7-8 new.
    const resent = positioned(partition, 3, [
      [99, 8],
      [99, 9],
      [100, 3],
      [100, 9],
      [101, 1],
      [101, 2],
    ]);
    const second = await forwarder.forwardRecords(TOPIC, partition, '8', resent);
    expect(second).toMatchObject({ skipped: 2, sourceSkipped: 2 });
    expect(second.entries.map((id) => id !== null)).toEqual([false, false, false, false, true, true]);
    expect(positionOfMark(await redis.hGet(keys.sourceMark, field))).toBe('101/2');

    // Not ascending (a re-send inside the chunk, a record without a position): a duplicate
    // between new changes is skipped on its own, and the position-less one is forwarded.
    const mixed = positioned(partition, 9, [[101, 3], [100, 20], null, [101, 2], [102, 1]]);
    const third = await forwarder.forwardRecords(TOPIC, partition, '13', mixed);
    expect(third).toMatchObject({ skipped: 0, sourceSkipped: 2 });
    expect(third.entries.map((id) => id !== null)).toEqual([true, false, true, false, true]);
    expect(positionOfMark(await redis.hGet(keys.sourceMark, field))).toBe('102/1');
    expect(await readMark(redis, keys, field)).toBe('13');

    const ids = [first, second, third].flatMap((result) => result.ids);
    expect(ids).toHaveLength(10);
    const history = await readStream(redis, keys.history);
    expect(history.slice(historyBefore).map((e) => e.id)).toEqual(ids);
    expect(history.slice(historyBefore).map((e) => e.change.kafka.offset)).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '7',
      '8',
      '9',
      '11',
      '13',
    ]);
    const gateway = await readRaw(redis, keys.gatewayStream('a'));
    expect(gateway.slice(gatewayBefore).map((e) => e.id)).toEqual(ids);
    expectPredecessorChain(gateway);
  });

  it('compares offsets as 64-bit integers and keeps partitions apart', async () => {
    const forwarder = createForwarder(redis, keys, OPTIONS, CLUSTER);
    await forwardChanges(forwarder, TOPIC, 1, '9', changes(1, 9, 1));
    // "10" < "9" as strings; it must still count as newer.
    expect((await forwardChanges(forwarder, TOPIC, 1, '10', changes(1, 10, 1))).ids).toHaveLength(1);
    const big = '9007199254740993'; // 2^53 + 1: not representable as a double
    await redis.hSet(keys.highWater, markField(CLUSTER, TOPIC, 3), '9007199254740992');
    const [one] = changes(3, 0, 1);
    if (!one) throw new Error('no change');
    const result = await forwardChanges(forwarder, TOPIC, 3, big, [
      { ...one, kafka: { ...one.kafka, offset: big } },
    ]);
    expect(result.ids).toHaveLength(1);
    expect(await redis.hGet(keys.highWater, markField(CLUSTER, TOPIC, 3))).toBe(big);
  });

  it('keeps marks of different clusters apart', async () => {
    const forwarder = createForwarder(redis, keys, OPTIONS, CLUSTER);
    // A mark far ahead, left by another cluster (or by a version without cluster ids).
    await redis.hSet(keys.highWater, markField('old-cluster', TOPIC, 7), '1000000');
    await redis.hSet(keys.highWater, `${TOPIC}:7`, '1000000');
    expect((await forwardChanges(forwarder, TOPIC, 7, '4', changes(7, 0, 5))).ids).toHaveLength(5);
    expect(await readMark(redis, keys, markField(CLUSTER, TOPIC, 7))).toBe('4');
    expect(await readMark(redis, keys, markField('old-cluster', TOPIC, 7))).toBe('1000000');
  });

  it('drops a stale mark only while it still holds the stale value', async () => {
    const field = markField(CLUSTER, TOPIC, 8);
    await redis.hSet(keys.highWater, field, '500');
    // Another worker reset it and forwarded new records in the meantime: keep its mark.
    await redis.hSet(keys.highWater, field, '3');
    expect(await dropStaleMark(redis, keys, field, '500')).toBe(false);
    expect(await readMark(redis, keys, field)).toBe('3');
    await redis.hSet(keys.highWater, field, '500');
    expect(await dropStaleMark(redis, keys, field, '500')).toBe(true);
    expect(await readMark(redis, keys, field)).toBeNull();
    expect(await dropStaleMark(redis, keys, field, '500')).toBe(false);
  });

  it('forwards nothing to a silent gateway and reaps it after the TTL', async () => {
    // A TTL no slow machine outlasts between two calls: the silent gateway's last heartbeat is
    // moved back past it instead of being left to age.
    const ttl = 60_000;
    const forwarder = createForwarder(redis, keys, { ...OPTIONS, gatewayTtlMs: ttl }, CLUSTER);
    // Only this test's two gateways are registered (earlier tests' are still within the TTL).
    await redis.del(keys.gateways);
    const { at } = await heartbeatGateway(redis, keys, 'quiet');
    await heartbeatGateway(redis, keys, 'alive');
    await forwardChanges(forwarder, TOPIC, 5, '0', changes(5, 0, 1));
    await redis.zAdd(keys.gateways, { score: at - ttl - 1, value: 'quiet' });
    await heartbeatGateway(redis, keys, 'alive');

    const later = await forwardChanges(forwarder, TOPIC, 5, '1', changes(5, 1, 1));
    expect(later.gateways).toBe(1);
    expect(await liveGateways(redis, keys, ttl)).toEqual(['alive']);
    expect(await redis.xLen(keys.gatewayStream('quiet'))).toBe(1);
    expect(await redis.xLen(keys.gatewayStream('alive'))).toBe(2);

    const reaped = await reapGateways(redis, keys, ttl);
    expect(reaped).toContain('quiet');
    expect(reaped).not.toContain('alive');
    expect(await redis.exists(keys.gatewayStream('quiet'))).toBe(0);
    expect(await redis.zScore(keys.gateways, 'quiet')).toBeNull();

    // Coming back after being reaped: a fresh stream, and the gateway is told so.
    expect((await heartbeatGateway(redis, keys, 'quiet')).created).toBe(true);
    await unregisterGateway(redis, keys, 'quiet');
    expect(await redis.exists(keys.gatewayStream('quiet'))).toBe(0);
  });
});
