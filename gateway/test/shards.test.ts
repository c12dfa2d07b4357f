/**
 * Shard groups (REDIS_SHARDS=3) on one Redis server, through the real path: SQL → Debezium →
 * Kafka (3 partitions) → the worker → three groups of keys → two gateways → raw sockets, every
 * frame checked by the conformance checker. Vector cursors resume on another gateway, cursors
 * of another arity are reset, and a lost group resets its subscriptions, which converge again.
 */

import { type CursorParse, parseCursor } from '@orders/contract';
import { GATEWAY_GROUP, type RedisKeys, redisKeys, shardKeys } from '@orders/contract/redis';
import { createTestPipeline, expectFaults, type TestPipeline } from '@orders/test-harness';
import { createKafka, createMetrics, createWorker, type Worker } from '@orders/worker';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { type RunningGateway, startNodeGateway } from '../src/node-server.ts';
import type { RedisClient } from '../src/stream/redis-client.ts';
import { viewOf } from './support/frame-view.ts';
import { is, openRaw, type RawSocket } from './support/raw-socket.ts';
import { diffRows } from './support/recorder.ts';
import { connectRedis } from './support/services.ts';
import { createSqlWriter } from './support/sql-writer.ts';
import { until } from './support/wait.ts';

const SHARDS = 3;

describe('shard groups on one Redis server (REDIS_SHARDS=3)', () => {
  let pipeline: TestPipeline;
  let redis: RedisClient;
  let groups: RedisKeys[];
  let worker: Worker;
  let reader: postgres.Sql;
  let writer: ReturnType<typeof createSqlWriter>;
  let a: RunningGateway;
  let b: RunningGateway;
  const gateways: RunningGateway[] = [];
  const sockets: RawSocket[] = [];

  const startGateway = async (
    gatewayId: string,
    keys: RedisKeys | RedisKeys[] = groups,
  ): Promise<RunningGateway> => {
    const gateway = await startNodeGateway({
      gatewayId,
      keys,
      redis,
      sql: reader,
      logger: createLogger(gatewayId, process.env.LOG_LEVEL ?? 'warn'),
      port: 0,
      heartbeatIntervalMs: 500,
      gatewayTtlMs: 5_000,
    });
    gateways.push(gateway);
    return gateway;
  };

  beforeAll(async () => {
    redis = await connectRedis();
    pipeline = await createTestPipeline({ partitions: 3 });
    groups = shardKeys(pipeline.ns, SHARDS);
    const logger = createLogger('worker', 'silent');
    const kafka = createKafka(pipeline.kafkaBrokers, `${pipeline.ns}-worker`, logger);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: `${pipeline.topic}.dlq`, numPartitions: 1 }] });
    await admin.disconnect();
    worker = createWorker({
      kafka,
      redis,
      keys: groups,
      logger,
      metrics: createMetrics({ processMetrics: false }),
      config: {
        topic: pipeline.topic,
        groupId: `${pipeline.ns}-worker`,
        dlqTopic: `${pipeline.topic}.dlq`,
        sessionTimeoutMs: 6_000,
        forward: { gatewayTtlMs: 5_000, historyMaxlen: 100_000, gatewayMaxlen: 100_000 },
      },
    });
    await worker.start();
    await until(() => worker.isReady(), 'the worker to join its group', 60_000);
    reader = postgres(pipeline.readerUrl, { max: 4, onnotice: () => {} });
    writer = createSqlWriter(pipeline.sql);
    [a, b] = await Promise.all([startGateway('shard-a'), startGateway('shard-b')]);
    for (let i = 0; i < 30; i++) await writer.insert(['Alice', 'Bob', 'Carol'][i % 3] ?? 'Alice');
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await Promise.allSettled(gateways.map((g) => g.shutdown()));
    await worker?.stop().catch(() => {});
    await reader?.end({ timeout: 2 });
    await pipeline?.close();
    if (redis !== undefined) {
      for await (const keys of redis.scanIterator({ MATCH: `{${pipeline.ns}:*`, COUNT: 1000 }))
        if (keys.length > 0) await redis.del(keys);
      await redis.close();
    }
  });

  const open = async (gateway: RunningGateway): Promise<RawSocket> => {
    const s = await openRaw(gateway.url);
    sockets.push(s);
    await s.next(is('welcome'));
    return s;
  };

  const subscribe = async (gateway: RunningGateway, sub: string, cursor?: string): Promise<RawSocket> => {
    const s = await open(gateway);
    s.send({ type: 'subscribe', sub, ...(cursor === undefined ? {} : { cursor }) });
    await s.next(is('live', sub));
    return s;
  };

  /** The frames (of one or more sockets, in order) add up to the database's rows, nothing twice. */
  const converged = async (frames: () => Parameters<typeof viewOf>[0], sub: string) => {
    let diff: string | undefined;
    await until(async () => {
      diff = diffRows(viewOf(frames(), sub).rows, await writer.rows(() => true));
      return diff === undefined;
    }, `${sub} to equal the database`).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${diff}`);
    });
    const view = viewOf(frames(), sub);
    expect(view.duplicates).toEqual([]);
    expect(view.regressions).toEqual([]);
    return view;
  };

  const lastCursor = (s: RawSocket, sub: string): string => {
    const frame = s.frames.findLast((f) => (f.type === 'change' || f.type === 'live') && f.sub === sub);
    if (frame === undefined || !('cursor' in frame)) throw new Error(`no cursor for ${sub}`);
    return frame.cursor;
  };

  const vector = (text: string): Extract<CursorParse, { kind: 'vector' }>['cursors'] => {
    const parsed = parseCursor(text);
    if (parsed.kind !== 'vector') throw new Error(`${text} is not a vector cursor`);
    return parsed.cursors;
  };

  it('spreads the changes over the groups: each group has its history, epoch, registry and gateway streams', async () => {
    await until(async () => {
      const lengths = await Promise.all(groups.map((k) => redis.xLen(k.history)));
      return lengths.reduce((x, y) => x + y, 0) >= 30;
    }, 'every insert in history');
    for (const keys of groups) {
      expect(await redis.xLen(keys.history)).toBeGreaterThan(0);
      expect(await redis.get(keys.epoch)).toMatch(/^[\x21-\x7d]+$/);
      expect((await redis.zRange(keys.gateways, 0, -1)).sort()).toEqual(['shard-a', 'shard-b']);
      const info = (await redis.xInfoGroups(keys.gatewayStream('shard-a'))) as unknown as { name: string }[];
      expect(info.map((g) => g.name)).toEqual([GATEWAY_GROUP]);
    }
    // Nothing under the single-group tag.
    expect(await redis.exists(`{${pipeline.ns}}:history`)).toBe(0);
    // One order's changes all land in one group: an order's id is its Kafka key, hence one partition.
    const orderGroups = new Map<number, Set<number>>();
    for (const [g, keys] of groups.entries()) {
      for (const entry of (await redis.xRange(keys.history, '-', '+')) ?? []) {
        const change = JSON.parse(entry.message.c ?? '{}') as { row: { id: number } };
        orderGroups.set(change.row.id, (orderGroups.get(change.row.id) ?? new Set()).add(g));
      }
    }
    for (const set of orderGroups.values()) expect(set.size).toBe(1);
  });

  it('[P33] hands out vector cursors and resumes one on the other gateway without loss or duplicate', async () => {
    const first = await subscribe(a, 's1');
    const cursor = lastCursor(first, 's1');
    expect(vector(cursor)).toHaveLength(SHARDS);
    for (let i = 0; i < 6; i++) await writer.insert('Dave');
    await converged(() => first.frames, 's1');
    // Changes of every group reached it, and each change frame's cursor is a full vector.
    const changeCursors = first.frames.filter((f) => f.type === 'change').map((f) => vector(f.cursor));
    expect(changeCursors.length).toBeGreaterThanOrEqual(6);
    const resumeFrom = lastCursor(first, 's1');
    // The client applies nothing that arrives after it leaves: its view ends at its cursor.
    first.leave();

    // Written while no socket holds the subscription, in every group.
    const rows = [...(await writer.rows(() => true)).values()];
    for (const row of rows.slice(0, 9)) await writer.update(row.id, { status: 'paid' });
    for (let i = 0; i < 6; i++) await writer.insert('Erin');

    const second = await subscribe(b, 's1', resumeFrom);
    const live = second.frames.find((f) => f.type === 'live' && f.sub === 's1');
    expect(live).toMatchObject({ recovered: true });
    expect(second.frames.some((f) => f.type === 'snapshot' || f.type === 'reset')).toBe(false);
    const view = await converged(() => [...first.frames, ...second.frames], 's1');
    expect(view.resets).toEqual([]);
    expect(view.snapshots).toBe(1);
    second.close();
  });

  it('[P20][P34] answers a cursor of another arity with reset (cursor_unknown), then a snapshot', async () => {
    expectFaults({ faults: ['foreign_arity_cursor'] });
    const s = await open(a);
    const epoch = (await redis.get(groups[0]?.epoch ?? '')) ?? 'e';
    s.send({ type: 'subscribe', sub: 'plain', cursor: `${epoch}.0-0` });
    expect(await s.next(is('reset', 'plain'))).toMatchObject({ reason: 'cursor_unknown' });
    await s.next(is('live', 'plain'));
    s.send({ type: 'subscribe', sub: 'two', cursor: `${epoch}.0-0~${epoch}.0-0` });
    expect(await s.next(is('reset', 'two'))).toMatchObject({ reason: 'cursor_unknown' });
    await s.next(is('live', 'two'));
    await converged(() => s.frames, 'plain');
    await converged(() => s.frames, 'two');

    // And a vector cursor sent to a gateway without shard groups.
    const single = await startGateway('shard-single', redisKeys(pipeline.ns));
    const v = await open(single);
    v.send({ type: 'subscribe', sub: 'vector', cursor: lastCursor(s, 'plain') });
    expect(await v.next(is('reset', 'vector'))).toMatchObject({ reason: 'cursor_unknown' });
    await v.next(is('live', 'vector'));
    await converged(() => v.frames, 'vector');
    v.close();
    await single.shutdown();
  });

  it('[P33] a lost group (its keys and epoch deleted, the others intact) resets its subscriptions, which converge', async () => {
    // The group's gateway streams go with its history: a live subscription may meet either first.
    expectFaults({ faults: ['lost_history', 'stream_hole'] });
    const live = await subscribe(b, 'lost');
    const before = vector(lastCursor(live, 'lost'));
    const lost = groups[1] as RedisKeys;
    const doomed: string[] = [];
    for await (const keys of redis.scanIterator({ MATCH: `{${pipeline.ns}:1}*`, COUNT: 1000 }))
      doomed.push(...keys);
    expect(doomed).toContain(lost.epoch);
    await redis.del(doomed);
    for (let i = 0; i < 9; i++) await writer.insert('Frank');

    // Reset, then a snapshot, then live again.
    await until(() => {
      const reset = live.frames.findLastIndex((f) => f.type === 'reset' && f.sub === 'lost');
      const again = live.frames.findLastIndex((f) => f.type === 'live' && f.sub === 'lost');
      return reset >= 0 && again > reset;
    }, 'the live subscription to reset and go live again');
    const view = await converged(() => live.frames, 'lost');
    expect(view.resets.length).toBeGreaterThan(0);
    for (const reason of view.resets) expect(['epoch_changed', 'stream_gap']).toContain(reason);
    const after = vector(lastCursor(live, 'lost'));
    // The lost group has a new epoch; the other groups' histories are the same as before.
    expect(after[1]?.epoch).not.toBe(before[1]?.epoch);
    expect(after[0]?.epoch).toBe(before[0]?.epoch);
    expect(after[2]?.epoch).toBe(before[2]?.epoch);

    // A cursor from before the loss is reset on either gateway, then converges.
    const stale = await open(a);
    stale.send({
      type: 'subscribe',
      sub: 'stale',
      cursor: before.map((p) => `${p.epoch}.${p.id}`).join('~'),
    });
    expect(await stale.next(is('reset', 'stale'))).toMatchObject({ reason: 'epoch_changed' });
    await stale.next(is('live', 'stale'));
    for (let i = 0; i < 3; i++) await writer.insert('Gina');
    await converged(() => stale.frames, 'stale');
    await converged(() => live.frames, 'lost');
  });
});
