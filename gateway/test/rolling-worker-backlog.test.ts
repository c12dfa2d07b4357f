/**
 * A rolling deploy of the worker while it forwards a backlog: the consumer group starts on a
 * topic that already holds many changes (committed in PostgreSQL long before history has
 * them), a second worker joins mid-burst and the first is killed a few seconds later. The
 * gateways' own streams are capped far below the backlog, so they are trimmed faster than
 * read and every subscription resyncs from history again and again, while history holds
 * records older than the subscriptions' snapshots. Every socket stays connected throughout
 * and must see per-order versions rise, nothing twice, and end equal to the database.
 */

import type { SubscriptionFilter as FilterInput } from '@orders/client';
import { parseCursor } from '@orders/contract';
import {
  createTestKafka,
  createTestPipeline,
  expectFaults,
  type GatewayProcess,
  type ServiceProcess,
  spawnGateway,
  spawnWorker,
  type TestPipeline,
} from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../src/stream/redis-client.ts';
import { matcher } from './support/convergence.ts';
import { viewOf } from './support/frame-view.ts';
import { readOrders } from './support/order-record.ts';
import { is, type RawSocket, RawSocketPool } from './support/raw-socket.ts';
import { diffRows } from './support/recorder.ts';
import { connectRedis, dropNamespace } from './support/services.ts';
import { createSqlWriter } from './support/sql-writer.ts';
import { staffToken } from './support/tokens.ts';
import { startTraffic } from './support/traffic.ts';
import { until } from './support/wait.ts';

/** Rows inserted before any worker runs, each then updated BACKLOG_ROUNDS times. */
const BACKLOG_ROWS = 10000;
const BACKLOG_ROUNDS = 8;
/** The gateway streams' cap: a small fraction of the backlog. */
const GATEWAY_MAXLEN = 500;

describe('a worker rolling deploy mid-backlog, gateway streams trimmed faster than read', () => {
  let pipeline: TestPipeline;
  let redis: RedisClient;
  const gateways: GatewayProcess[] = [];
  const workers: ServiceProcess[] = [];
  const sockets = new RawSocketPool();
  const filters: FilterInput[] = [{}, { status: ['pending', 'paid'] }, { customer: 'Alice' }];

  const workerEnv = () => ({
    KAFKA_BROKERS: pipeline.kafkaBrokers.join(','),
    KAFKA_GROUP: `${pipeline.ns}-worker`,
    KAFKA_CLIENT_ID: `${pipeline.ns}-worker`,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    ORDERS_TOPIC: pipeline.topic,
    DLQ_TOPIC: `${pipeline.topic}.dlq`,
    REDIS_NS: pipeline.ns,
    GATEWAY_TTL_MS: '5000',
    GATEWAY_MAXLEN: String(GATEWAY_MAXLEN),
    HISTORY_MAXLEN: '1000000',
    LOG_LEVEL: 'info',
  });

  beforeAll(async () => {
    redis = await connectRedis();
    pipeline = await createTestPipeline({ partitions: 6 });
    const admin = createTestKafka(`${pipeline.ns}-admin`, pipeline.kafkaBrokers).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: `${pipeline.topic}.dlq`, numPartitions: 1 }] });
    // The backlog: committed in PostgreSQL and captured into Kafka, with no worker running.
    await pipeline.sql`
      insert into orders (customer_name, product_name, status)
      select (array['Alice','Bob','Carol','Dave'])[1 + i % 4], 'widget', 'pending'
      from generate_series(1, ${BACKLOG_ROWS}) as i`;
    const statuses = ['paid', 'shipped', 'pending', 'delivered', 'paid', 'cancelled', 'pending', 'paid'];
    for (let round = 0; round < BACKLOG_ROUNDS; round++) {
      const status = statuses[round % statuses.length] ?? 'paid';
      await pipeline.sql`update orders set status = ${status}::order_status where id % 3 <> ${round % 3}`;
    }
    await pipeline.sql`delete from orders where id % 10 = 0`;
    const expected = BACKLOG_ROWS * (1 + (BACKLOG_ROUNDS * 2) / 3) * 0.9;
    await until(
      async () => {
        const offsets = await admin.fetchTopicOffsets(pipeline.topic);
        return offsets.reduce((sum, p) => sum + Number(p.high), 0) >= expected;
      },
      'the backlog to reach Kafka',
      120_000,
    );
    await admin.disconnect();
    for (const id of ['roll-a', 'roll-b'])
      gateways.push(
        await spawnGateway(id, {
          REDIS_NS: pipeline.ns,
          DATABASE_READER_URL: pipeline.readerUrl,
          STREAM_READ_COUNT: '100',
          LOG_LEVEL: 'info',
        }),
      );
  });
  afterAll(async () => {
    sockets.closeAll();
    await Promise.allSettled([...gateways, ...workers].map((p) => p.kill('SIGKILL')));
    await pipeline?.close();
    if (redis !== undefined) {
      await dropNamespace(redis, pipeline.ns);
      await redis.close();
    }
  });

  /** A client that leaves mid-backlog and resumes on the other gateway from its last cursor. */
  let moved:
    | { before: RawSocket; after: RawSocket; filter: FilterInput; sub: string; cursor: string }
    | undefined;

  const breaks = async (gateway: GatewayProcess): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${gateway.port}/metrics`)).text();
    let total = 0;
    for (const match of text.matchAll(/^gateway_stream_breaks_total\{[^}]*\} (\d+)/gm))
      total += Number(match[1]);
    return total;
  };

  const converged = async (frames: () => RawSocket['frames'], filter: FilterInput, sub: string) => {
    let diff: string | undefined;
    await until(
      async () => {
        diff = diffRows(viewOf(frames(), sub).rows, await readOrders(pipeline.sql, matcher(filter)));
        return diff === undefined;
      },
      `${sub} to equal the database`,
      120_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${diff}`);
    });
    return viewOf(frames(), sub);
  };

  it('[P28] subscriptions connected throughout resync from history with versions rising and nothing twice', async () => {
    // The gateway streams are trimmed faster than read: a hole refilled from history, or, where
    // a lapse shows only after entries past it were handed out, stream_gap [P22].
    expectFaults({ faults: ['stream_hole'] });
    const subscribers: { s: RawSocket; filter: FilterInput; sub: string }[] = [];
    for (const [g, gateway] of gateways.entries()) {
      for (const [i, filter] of filters.entries()) {
        const s = await sockets.open(gateway.url, await staffToken());
        const sub = `s${g}${i}`;
        s.send({ type: 'subscribe', sub, filter });
        await s.next(is('live', sub), 60_000);
        subscribers.push({ s, filter, sub });
      }
    }
    const env = workerEnv();
    workers.push(await spawnWorker(`${pipeline.ns}-w1`, env));
    const traffic = startTraffic(createSqlWriter(pipeline.sql), { concurrency: 3, pauseMs: 2 });
    await new Promise((r) => setTimeout(r, 1500));
    // The rolling deploy: a second member joins, the first dies 4 s later.
    workers.push(await spawnWorker(`${pipeline.ns}-w2`, env));
    await new Promise((r) => setTimeout(r, 1000));
    // Meanwhile one client leaves and resumes on the other gateway from its last cursor.
    const leaving = subscribers.shift();
    const [, other] = gateways;
    if (leaving === undefined || other === undefined) throw new Error('no subscriber to move');
    const last = leaving.s.frames.findLast(
      (f) => (f.type === 'change' || f.type === 'live') && f.sub === leaving.sub,
    );
    if (last === undefined || !('cursor' in last)) throw new Error('no cursor to resume from');
    // Frames the gateway had already queued keep arriving while the close completes; the
    // client applies none of them, so the view it resumes from ends at its cursor.
    leaving.s.leave();
    // The backlog is still behind the client's snapshot, so its cursor carries a fence.
    expectFaults({ faults: ['fenced_cursor'], sub: leaving.sub });
    const after = await sockets.open(other.url, await staffToken());
    after.send({ type: 'subscribe', sub: leaving.sub, filter: leaving.filter, cursor: last.cursor });
    moved = { before: leaving.s, after, filter: leaving.filter, sub: leaving.sub, cursor: last.cursor };
    await new Promise((r) => setTimeout(r, 3000));
    await workers[0]?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 4000));
    expect(await traffic.stop()).toBeGreaterThan(100);

    for (const { s, filter, sub } of subscribers) {
      const view = await converged(() => s.frames, filter, sub);
      expect(view.duplicates).toEqual([]);
      expect(view.regressions).toEqual([]);
    }
    // The gateway streams were trimmed under the readers: the subscriptions did resync.
    for (const gateway of gateways) expect(await breaks(gateway)).toBeGreaterThan(0);
    // Once every partition has delivered, through this gateway's stream, a change written
    // after the snapshots, no cursor needs a fence any more, so live subscriptions share
    // frames again. The traffic's last changes of a partition may have reached the sockets
    // only by a resync from history (the stream trimmed under a slow reader), so a few more
    // inserts follow now that the backlog is gone: new ids hash to every partition.
    const writer = createSqlWriter(pipeline.sql);
    for (let i = 0; i < 30; i++) await writer.insert('Alice', 'paid');
    for (const { s, filter, sub } of subscribers) await converged(() => s.frames, filter, sub);
    for (const { s, sub } of subscribers) {
      s.send({ type: 'ping' });
      const pong = await s.next(is('pong'), 10_000);
      const cursor = pong.cursors?.[sub];
      expect(cursor).toBeDefined();
      expect(parseCursor(cursor ?? '')).toMatchObject({ kind: 'cursor' });
      expect(parseCursor(cursor ?? '')).not.toHaveProperty('fence');
    }
  });

  // History after the cursor holds backlog entries the client's snapshot already showed: the
  // cursor's fence makes the new gateway reset (cursor_expired) instead of sending them.
  it('[P103] a client resuming from its cursor mid-backlog sees no version it has passed', async () => {
    if (moved === undefined) throw new Error('the first case did not run');
    const { before, after, filter, sub } = moved;
    const view = await converged(() => before.frames.concat(after.frames), filter, sub);
    expect(view.duplicates).toEqual([]);
    expect(view.regressions).toEqual([]);
    // The backlog was still behind the snapshot when the client left: its cursor was fenced.
    expect(parseCursor(moved.cursor)).toMatchObject({ fence: expect.any(BigInt) });
    // The resume resets only for the fence; before it left, a gateway stream trimmed past a
    // lapse may have reset the subscription (stream_gap), as it may any subscription here.
    const resumed = viewOf(after.frames, sub).resets;
    expect(
      resumed.every((reason) => reason === 'cursor_expired'),
      resumed.join(),
    ).toBe(true);
    const connected = viewOf(before.frames, sub).resets;
    expect(
      connected.every((reason) => reason === 'stream_gap'),
      connected.join(),
    ).toBe(true);
  });
});
