/**
 * History can lag behind PostgreSQL: a worker catching up after Redis lost its data, or a
 * slow partition. A snapshot read meanwhile already shows those changes, so replay after its
 * cursor must not send them again, also for rows the snapshot shows absent (deleted, or moved
 * out of the filter). The changes below all carry commit times inside any clock margin, so
 * only their transactions tell them apart.
 */

import { parseCursor, type ServerFrame } from '@orders/contract';
import type { StreamChange } from '@orders/contract/redis';
import type { Order, OrderStatus } from '@orders/drizzle';
import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/node-server.ts';
import { type ContractWriter, createContractWriter } from './support/fake-worker.ts';
import { viewOf } from './support/frame-view.ts';
import { type OrderRecord, readOrders, toOrder } from './support/order-record.ts';
import { is, openRaw, type RawSocket } from './support/raw-socket.ts';
import { diffRows } from './support/recorder.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { until } from './support/wait.ts';

interface Written {
  change: StreamChange;
}

describe('replay of a history that lags behind PostgreSQL', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  let writer: ContractWriter;
  const sockets: RawSocket[] = [];
  let offset = 0;

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('lag-a');
    writer = createContractWriter(h.redis, h.keys);
    // Creates the epoch, as a running worker would have.
    await h.redis.set(h.keys.epoch, 'lagging-epoch', { NX: true });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await h?.close();
  });

  /** Runs one statement in its own transaction and returns the change Debezium would emit. */
  const commit = async (
    op: StreamChange['op'],
    statement: (tx: typeof h.db.sql) => Promise<OrderRecord[]>,
    before: Order | null = null,
  ): Promise<Written> => {
    const [row, tx] = await h.db.sql.begin(async (t) => {
      const [r] = await statement(t as unknown as typeof h.db.sql);
      const [x] = await t<{ tx: string }[]>`select txid_current() as tx`;
      return [r, Number(x?.tx)] as const;
    });
    if (row === undefined) throw new Error(`${op} returned nothing`);
    offset++;
    const order = toOrder(row);
    return {
      change: {
        op,
        row: order,
        before: op === 'delete' ? order : before,
        committedAt: Date.now(),
        txId: tx % 2 ** 32,
        lsn: String(offset),
        kafka: { topic: 'lag', partition: 0, offset: String(offset), timestamp: Date.now() },
      },
    };
  };
  const insert = (customer: string, status: OrderStatus = 'pending') =>
    commit(
      'insert',
      (sql) => sql<OrderRecord[]>`
        insert into orders (customer_name, product_name, status)
        values (${customer}, 'lamp', ${status}) returning *`,
    );
  const setStatus = (prev: Order, status: OrderStatus) =>
    commit(
      'update',
      (sql) => sql<OrderRecord[]>`update orders set status = ${status} where id = ${prev.id} returning *`,
      prev,
    );
  const remove = (prev: Order) =>
    commit('delete', (sql) => sql<OrderRecord[]>`delete from orders where id = ${prev.id} returning *`);

  it('sends only what the snapshot did not see, once', async () => {
    // Committed in PostgreSQL, not yet in history.
    const gone = await insert('Ada');
    const goneUpdated = await setStatus(gone.change.row, 'paid');
    const goneDeleted = await remove(goneUpdated.change.row);
    const kept = await insert('Bo');
    const movedOut = await insert('Cy');
    const movedOutUpdated = await setStatus(movedOut.change.row, 'cancelled');
    const lagging = [gone, goneUpdated, goneDeleted, kept, movedOut, movedOutUpdated];

    const s = await openRaw(gw.url);
    sockets.push(s);
    await s.next(is('welcome'));
    s.send({ type: 'subscribe', sub: 'open', filter: { status: ['pending', 'paid'] } });
    await s.next(is('live', 'open'));
    expect([...viewOf(s.frames, 'open').rows.keys()]).toEqual([kept.change.row.id]);

    // The worker catches up, then a change made after the snapshot follows.
    for (const w of lagging) await writer.change(w.change);
    const fresh = await insert('Dee');
    const keptUpdated = await setStatus(kept.change.row, 'paid');
    await writer.change(fresh.change);
    await writer.change(keptUpdated.change);

    const want = await readOrders(h.db.sql, (o) => o.status === 'pending' || o.status === 'paid');
    let diff: string | undefined;
    await until(() => {
      diff = diffRows(viewOf(s.frames, 'open').rows, want);
      return diff === undefined;
    }, 'the subscriber to equal the database').catch((error: unknown) => {
      throw new Error(`${String(error)}: ${diff}`);
    });
    const changes = s.frames
      .filter((f) => f.type === 'change' && f.sub === 'open')
      .map((f) => (f.type === 'change' ? `${f.op}:${f.row.id}:${f.row.version}` : ''));
    expect(changes).toEqual([`insert:${fresh.change.row.id}:1`, `update:${kept.change.row.id}:2`]);
    expect(s.frames.some((f) => f.type === 'reset')).toBe(false);
  });

  it('[P103] a client resuming from its fenced cursor gets reset (cursor_expired), not the changes its snapshot showed', async () => {
    expectFaults({ faults: ['fenced_cursor'] });
    // Committed in PostgreSQL, not yet in history: the first socket's snapshot shows them.
    const made = await insert('Fen');
    const paid = await setStatus(made.change.row, 'paid');
    const filter = { customer: 'Fen' };
    const first = await openRaw(gw.url);
    sockets.push(first);
    await first.next(is('welcome'));
    first.send({ type: 'subscribe', sub: 'f', filter });
    const live = await first.next(is('live', 'f'));
    expect([...viewOf(first.frames, 'f').rows.values()].map((r) => r.version)).toEqual([2]);
    // History still lags behind the snapshot: the cursor carries the snapshot's fence.
    expect(parseCursor(live.cursor)).toMatchObject({ fence: expect.any(BigInt) });
    first.close();

    // The client resumes from that cursor on another socket, and then history catches up.
    const second = await openRaw(gw.url);
    sockets.push(second);
    await second.next(is('welcome'));
    second.send({ type: 'subscribe', sub: 'f', filter, cursor: live.cursor });
    await second.next(is('live', 'f'));
    await writer.change(made.change);
    await writer.change(paid.change);

    // The first thing the resumed subscription hears of them is a reset, never a change it passed.
    const heard = await second.next(
      (f): f is ServerFrame => (f.type === 'change' || f.type === 'reset') && f.sub === 'f',
    );
    expect(heard).toMatchObject({ type: 'reset', reason: 'cursor_expired' });
    await second.next(is('live', 'f'));
    expect(second.frames.filter((f) => f.type === 'change')).toEqual([]);
    expect([...viewOf(second.frames, 'f').rows.values()].map((r) => r.version)).toEqual([2]);
  });
});
