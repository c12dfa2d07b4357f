/**
 * Changes without a before image, written to the streams exactly as the worker forwards them
 * from a table under REPLICA IDENTITY DEFAULT: an update with `before: null`, and a delete
 * whose row and before image are Debezium's key-only stand-in (empty text, the column
 * defaults, the epoch). Real Redis and PostgreSQL; no Kafka, so the shapes are fixed here.
 */

import type { FilterInput, Order, ServerFrame } from '@orders/contract';
import type { StreamChange } from '@orders/contract/redis';
import { expectFaults } from '@orders/test-harness';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../src/auth/index.ts';
import { matcher } from './support/convergence.ts';
import { useCustomerGateway } from './support/customer-gateway.ts';
import { createContractWriter } from './support/fake-worker.ts';
import { viewOf } from './support/frame-view.ts';
import { type OrderRecord, toOrder } from './support/order-record.ts';
import { is, type RawSocket, RawSocketPool } from './support/raw-socket.ts';
import { diffRows } from './support/recorder.ts';
import { until } from './support/wait.ts';

const secret = 'before-less-changes-secret-with-enough-characters';

const keyOnly = (id: number): Order => ({
  id,
  customerName: '',
  productName: '',
  status: 'pending',
  version: 1,
  createdAt: '1970-01-01T00:00:00.000Z',
  updatedAt: '1970-01-01T00:00:00.000Z',
});

describe('changes without a before image', () => {
  const suite = useCustomerGateway('before-less', secret);
  const staffSockets = new RawSocketPool();
  let offset = 0;

  const forward = (op: StreamChange['op'], row: Order, before: Order | null) => {
    offset++;
    return createContractWriter(suite.harness.redis, suite.harness.keys).change({
      op,
      row,
      before,
      committedAt: Date.now(),
      lsn: `bl-${offset}`,
      kafka: { topic: 'before-less', partition: 0, offset: String(offset), timestamp: Date.now() },
    });
  };
  const sql = () => suite.harness.db.sql;

  /** Deletes the order in PostgreSQL and forwards the key-only delete the capture then carries. */
  const deleteKeyOnly = async (id: number) => {
    await sql()`delete from orders where id = ${id}`;
    await forward('delete', keyOnly(id), keyOnly(id));
  };
  /** Updates the order in PostgreSQL and forwards the change without its before image. */
  const updateBeforeLess = async (id: number, set: { status?: Order['status']; customer?: string }) => {
    const [r] = await sql()<OrderRecord[]>`
      update orders set
        status = coalesce(${set.status ?? null}::order_status, status),
        customer_name = coalesce(${set.customer ?? null}, customer_name)
      where id = ${id} returning *`;
    if (r === undefined) throw new Error(`order ${id} missing`);
    await forward('update', toOrder(r), null);
  };

  const subscribe = async (who: string, sub: string, filter?: FilterInput, cursor?: string) => {
    const s =
      who === 'staff'
        ? await staffSockets.open(suite.gateway.url, await mintToken(secret, { role: 'staff' }))
        : await suite.open(who);
    s.send({
      type: 'subscribe',
      sub,
      ...(filter === undefined ? {} : { filter }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    await s.next(is('live', sub));
    return s;
  };

  const converged = async (s: RawSocket, sub: string, filter: FilterInput) => {
    let diff: string | undefined;
    await until(
      async () => {
        diff = diffRows(viewOf(s.frames, sub).rows, await suite.worker.rows(matcher(filter)));
        return diff === undefined;
      },
      `${sub} ${JSON.stringify(filter)} to equal the database`,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${diff}`);
    });
    const view = viewOf(s.frames, sub);
    expect(view.duplicates).toEqual([]);
    expect(view.regressions).toEqual([]);
    return view;
  };

  const foreign = (frames: readonly ServerFrame[], sub: string, customer: string): string[] =>
    frames.flatMap((f) => {
      if (!('sub' in f) || f.sub !== sub) return [];
      const rows = f.type === 'snapshot' ? f.rows : f.type === 'change' ? [f.row, f.before] : [];
      return rows
        .filter((row): row is Order => row !== null && row.customerName !== customer)
        .map((row) => `${f.type} order ${row.id} of "${row.customerName}"`);
    });

  it('[P100] removes deleted and moved-out orders from exactly the views that held them, customer views included, without a reset', async () => {
    const { worker } = suite;
    const a1 = await worker.insert('Alice', 'paid');
    const a2 = await worker.insert('Alice', 'pending');
    const a3 = await worker.insert('Alice', 'paid');
    const b1 = await worker.insert('Bob', 'paid');
    const b2 = await worker.insert('Bob', 'pending');
    const b3 = await worker.insert('Bob', 'paid');
    // Above version 1: a remove at the stand-in's version would be dropped by a client as stale.
    await worker.update(a1.id, { status: 'shipped' });
    await worker.update(a1.id, { status: 'paid' });
    await worker.update(b1.id, { status: 'shipped' });

    const views: { s: RawSocket; sub: string; filter: FilterInput; customer?: string }[] = [
      { s: await subscribe('staff', 'all'), sub: 'all', filter: {} },
      {
        s: await subscribe('staff', 'paid', { status: ['paid'] }),
        sub: 'paid',
        filter: { status: ['paid'] },
      },
      { s: await subscribe('Alice', 'mine'), sub: 'mine', filter: { customer: 'Alice' }, customer: 'Alice' },
      { s: await subscribe('Bob', 'mine'), sub: 'mine', filter: { customer: 'Bob' }, customer: 'Bob' },
      {
        s: await subscribe('Alice', 'paid', { status: ['paid'] }),
        sub: 'paid',
        filter: { customer: 'Alice', status: ['paid'] },
        customer: 'Alice',
      },
    ];
    await deleteKeyOnly(a1.id);
    await deleteKeyOnly(b1.id);
    await deleteKeyOnly(a2.id);
    await updateBeforeLess(a3.id, { status: 'shipped' });
    await updateBeforeLess(b2.id, { customer: 'Carol' });
    await updateBeforeLess(b3.id, { status: 'delivered' });
    for (const customer of ['Alice', 'Bob', 'Carol']) await worker.insert(customer, 'paid');

    for (const { s, sub, filter, customer } of views) {
      const view = await converged(s, sub, filter);
      expect(view.resets).toEqual([]);
      if (customer !== undefined) expect(foreign(s.frames, sub, customer)).toEqual([]);
    }
  });

  it('sends a customer with many orders no remove of an order that is not theirs', async () => {
    const { worker } = suite;
    // More rows than the old tracking cap (10,000), in one statement, before the subscription.
    await sql()`
      insert into orders (customer_name, product_name, status)
      select 'Many', 'bulk', 'paid' from generate_series(1, 10050)`;
    const many = await subscribe('Many', 'many');
    const other = await worker.insert('Olga', 'paid');
    await updateBeforeLess(other.id, { status: 'shipped' });
    await deleteKeyOnly(other.id);
    const barrier = await worker.insert('Many', 'pending');
    await until(
      () => many.frames.some((f) => f.type === 'change' && f.row.id === barrier.id),
      "Many's barrier change",
    );
    const removes = many.frames.filter(
      (f) => f.type === 'change' && f.sub === 'many' && f.effect === 'remove',
    );
    expect(removes).toEqual([]);
    expect(foreign(many.frames, 'many', 'Many')).toEqual([]);
    await sql()`delete from orders where customer_name = 'Many'`;
  });

  it('[P25][P101] resets a subscription resumed from a cursor at a before-less remove it cannot place', async () => {
    expectFaults({ faults: ['before_less_remove'], sub: 'back' });
    const { worker } = suite;
    const mine = await worker.insert('Dave', 'paid');
    const theirs = await worker.insert('Erin', 'paid');
    const away = await subscribe('Dave', 'back');
    const live = away.frames.findLast((f) => f.type === 'live' && f.sub === 'back');
    if (live === undefined || live.type !== 'live') throw new Error('no live frame');
    away.close();

    const back = await subscribe('Dave', 'back', undefined, live.cursor);
    await deleteKeyOnly(theirs.id);
    await worker.update(mine.id, { status: 'shipped' });
    const view = await converged(back, 'back', { customer: 'Dave' });
    expect(view.resets).toEqual(['undeliverable']);
    expect(foreign(back.frames, 'back', 'Dave')).toEqual([]);
  });
});
