/**
 * The `changes` extension: a socket that asks gets the change frames the gateway has ready at
 * one moment (one stream read, one replay page) in one message; one that does not ask never
 * sees it. Either way the change frames, cursors and versions are the same, in the same order.
 */
import { type ChangeFrame, FENCE_SEPARATOR, type Order, type ServerFrame } from '@orders/contract';
import type { StreamChange } from '@orders/contract/redis';
import { expectFaults } from '@orders/test-harness';
import { createStandInForwarder } from '@orders/worker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/node-server.ts';
import { type OrderRecord, toOrder } from './support/order-record.ts';
import { is, openRaw, type RawSocket } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { until } from './support/wait.ts';

/** One Kafka record as the worker's forward step takes it: a change, or a reset marker. */
type ForwardRecord = Parameters<ReturnType<typeof createStandInForwarder>['forwardRecords']>[3][number];

/** The change frames of `sub`, single or batched, in arrival order. */
const changesOf = (frames: ServerFrame[], sub: string): ChangeFrame[] =>
  frames
    .flatMap((f) => (f.type === 'change' ? [f] : f.type === 'changes' ? f.changes : []))
    .filter((f) => f.sub === sub);
/** A change by its position (without the fence, which a resumed subscription keeps longer), op, row and effect. */
const key = (f: ChangeFrame) =>
  `${f.cursor.split(FENCE_SEPARATOR)[0]} ${f.op} ${f.row.id}:${f.row.version} ${f.effect}`;

describe('batched change frames (protocol extension `changes`)', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  let forwarder: ReturnType<typeof createStandInForwarder>;
  let offset = 0;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('batch-a');
    forwarder = createStandInForwarder(h.redis, h.keys, 'batch', 100_000);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await h?.close();
  });

  const open = async (batch: boolean): Promise<RawSocket> => {
    const s = await openRaw(gw.url);
    sockets.push(s);
    const welcome = await s.next(is('welcome'));
    expect(welcome.features).toContain('changes');
    if (batch) s.send({ type: 'options', changes: true });
    return s;
  };

  /** Inserts `count` orders and forwards them in one step, so one stream read holds them all. */
  const insertMany = async (count: number): Promise<Order[]> => {
    const rows = await h.db.sql<(OrderRecord & { wal: string })[]>`
      insert into orders (customer_name, product_name, status)
      select 'Batch', 'bulb ' || n, 'pending' from generate_series(1, ${count}) as n
      returning *, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text as wal`;
    const orders = rows.map(toOrder).sort((a, b) => a.id - b.id);
    const lsn = rows[0]?.wal ?? '';
    const changes: StreamChange[] = orders.map((row) => {
      offset++;
      return {
        op: 'insert',
        row,
        before: null,
        committedAt: Date.now(),
        lsn,
        kafka: { topic: 'batch', partition: 0, offset: String(offset), timestamp: Date.now() },
      };
    });
    await forwarder.forward('batch', 0, String(offset), changes);
    return orders;
  };

  it('[P7][P13][P15] sends one message per stream read to a socket that asked, the same frames one by one to one that did not', async () => {
    const batched = await open(true);
    const single = await open(false);
    for (const s of [batched, single]) {
      s.send({ type: 'subscribe', sub: 'all' });
      await s.next(is('live', 'all'));
    }
    const orders = await insertMany(8);
    await until(
      () => changesOf(batched.frames, 'all').length >= 8 && changesOf(single.frames, 'all').length >= 8,
      'both sockets to get the 8 inserts',
    );
    const batches = batched.frames.filter((f) => f.type === 'changes');
    expect(batches.length).toBeGreaterThan(0);
    // Fewer messages than changes: the read's changes were grouped.
    expect(batched.frames.filter((f) => f.type === 'change' || f.type === 'changes').length).toBeLessThan(8);
    expect(single.frames.some((f) => f.type === 'changes')).toBe(false);
    expect(changesOf(batched.frames, 'all').map(key)).toEqual(changesOf(single.frames, 'all').map(key));
    expect(changesOf(single.frames, 'all').map((f) => f.row.id)).toEqual(orders.map((o) => o.id));
  });

  it('groups a replay page and keeps cursors rising across batches', async () => {
    const before = await open(false);
    before.send({ type: 'subscribe', sub: 'r' });
    const live = await before.next(is('live', 'r'));
    await insertMany(5);
    await insertMany(5);
    await until(() => changesOf(before.frames, 'r').length >= 10, 'the reference socket to get 10 inserts');

    const replaying = await open(true);
    replaying.send({ type: 'subscribe', sub: 'r', cursor: live.cursor });
    const recovered = await replaying.next(is('live', 'r'));
    expect(recovered.recovered).toBe(true);
    const replayed = replaying.frames.filter((f) => f.type === 'change' || f.type === 'changes');
    // Ten changes from history in one page, so one message.
    expect(replayed).toHaveLength(1);
    expect(changesOf(replaying.frames, 'r').map(key)).toEqual(changesOf(before.frames, 'r').map(key));
  });

  it('[P14] lets other frames keep their place between batched changes', async () => {
    const s = await open(true);
    s.send({ type: 'subscribe', sub: 'a' });
    await s.next(is('live', 'a'));
    await insertMany(3);
    await until(() => changesOf(s.frames, 'a').length >= 3, 'the first three inserts');
    s.send({ type: 'ping' });
    await s.next(is('pong'));
    await insertMany(3);
    await until(() => changesOf(s.frames, 'a').length >= 6, 'six inserts');
    // The pong was asked for after the first three arrived: it sits between the two groups,
    // each of which came as one batch.
    const kinds = s.frames
      .filter((f) => f.type === 'change' || f.type === 'changes' || f.type === 'pong')
      .map((f) => (f.type === 'changes' ? `changes×${f.changes.length}` : f.type));
    expect(kinds).toEqual(['changes×3', 'pong', 'changes×3']);
  });

  it('[P14] sends the changes a stream read batched before the reset the same read brings', async () => {
    // The marker resets every subscription on the gateway, the earlier tests' ones too.
    expectFaults({ faults: ['resnapshot_marker'] });
    const s = await open(true);
    s.send({ type: 'subscribe', sub: 'm' });
    await s.next(is('live', 'm'));
    // Three inserts and a reset marker in one append, so one stream read: the reset is written
    // while the batch still holds the three changes, and must leave after them.
    const rows = await h.db.sql<(OrderRecord & { wal: string })[]>`
      insert into orders (customer_name, product_name, status)
      select 'Batch', 'marked ' || n, 'pending' from generate_series(1, 3) as n
      returning *, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text as wal`;
    const orders = rows.map(toOrder).sort((a, b) => a.id - b.id);
    const lsn = rows[0]?.wal ?? '';
    const records: ForwardRecord[] = orders.map((row) => {
      offset++;
      const change: StreamChange = {
        op: 'insert',
        row,
        before: null,
        committedAt: Date.now(),
        lsn,
        kafka: { topic: 'batch', partition: 0, offset: String(offset), timestamp: Date.now() },
      };
      return { offset: String(offset), change, position: null, snapshotRead: false, reset: null };
    });
    offset++;
    records.push({
      offset: String(offset),
      change: null,
      position: null,
      snapshotRead: false,
      reset: 'resnapshot',
    });
    await forwarder.forwardRecords('batch', 0, String(offset), records);
    await s.next(is('reset', 'm'));
    await until(() => changesOf(s.frames, 'm').length >= 3, 'the three inserts');
    const kinds = s.frames
      .filter((f) => ((f.type === 'change' || f.type === 'reset') && f.sub === 'm') || f.type === 'changes')
      .map((f) => (f.type === 'changes' ? `changes×${f.changes.length}` : f.type));
    expect(kinds.slice(0, 2)).toEqual(['changes×3', 'reset']);
    expect(changesOf(s.frames, 'm').map((f) => f.row.id)).toEqual(orders.map((o) => o.id));
  });

  it('[P12] cuts a large stream read into `changes` messages of at most about 64 KiB each', async () => {
    const s = await open(true);
    s.send({ type: 'subscribe', sub: 'big' });
    await s.next(is('live', 'big'));
    // Long product names make one read's 400 changes about 250 KB of frames.
    const rows = await h.db.sql<(OrderRecord & { wal: string })[]>`
      insert into orders (customer_name, product_name, status)
      select 'Batch', 'wide ' || n || ' ' || repeat('x', 400), 'pending' from generate_series(1, 400) as n
      returning *, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text as wal`;
    const lsn = rows[0]?.wal ?? '';
    const orders = rows.map(toOrder).sort((a, b) => a.id - b.id);
    await forwarder.forward(
      'batch',
      0,
      String(offset + orders.length),
      orders.map((row) => {
        offset++;
        return {
          op: 'insert' as const,
          row,
          before: null,
          committedAt: Date.now(),
          lsn,
          kafka: { topic: 'batch', partition: 0, offset: String(offset), timestamp: Date.now() },
        };
      }),
    );
    await until(() => changesOf(s.frames, 'big').length >= orders.length, 'all 400 wide inserts');
    const batches = s.frames.flatMap((f, i) => (f.type === 'changes' ? [s.lengths[i] ?? 0] : []));
    const largestChange = Math.max(
      ...s.frames.flatMap((f) =>
        f.type === 'changes' ? f.changes.map((c) => JSON.stringify(c).length) : [],
      ),
    );
    // Several messages, none past 64 KiB by more than the one change that crossed the line.
    expect(batches.length).toBeGreaterThan(2);
    for (const length of batches) expect(length).toBeLessThanOrEqual(64 * 1024 + largestChange + 64);
    expect(changesOf(s.frames, 'big').map((f) => f.row.id)).toEqual(orders.map((o) => o.id));
  });
});
