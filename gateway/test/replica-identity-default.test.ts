/**
 * The `orders` table altered to REPLICA IDENTITY DEFAULT: Debezium then sends updates without
 * a before image and deletes whose before image holds only the key (the other columns filled
 * with stand-ins). Through the real capture path, every view must still end equal to the
 * database, and a customer must never be sent another customer's remove.
 */

import type { ServerFrame } from '@orders/contract';
import type { Order } from '@orders/drizzle';
import type { GatewayProcess } from '@orders/test-harness';
import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from '../src/env.ts';
import { matcher } from './support/convergence.ts';
import { viewOf } from './support/frame-view.ts';
import { createStack, type Stack } from './support/pipeline.ts';
import { is, type RawSocket, RawSocketPool } from './support/raw-socket.ts';
import { diffRows } from './support/recorder.ts';
import { staffToken } from './support/tokens.ts';
import { until } from './support/wait.ts';

type Filter = Parameters<typeof matcher>[0];

describe('REPLICA IDENTITY DEFAULT through Debezium, Kafka and the worker', () => {
  let stack: Stack;
  let gw: GatewayProcess;
  const sockets = new RawSocketPool();

  beforeAll(async () => {
    stack = await createStack({ partitions: 1 });
    gw = await stack.startGateway('ri-default');
  });
  afterAll(async () => {
    sockets.closeAll();
    await stack?.close();
  });

  const subscribe = async (
    who: string,
    sub: string,
    filter: Filter = {},
    cursor?: string,
  ): Promise<RawSocket> => {
    const s =
      who === 'staff'
        ? await sockets.open(gw.url, await staffToken())
        : await sockets.openCustomer(gw.url, DEV_JWT_SECRET, who);
    s.send({
      type: 'subscribe',
      sub,
      ...(Object.keys(filter).length === 0 ? {} : { filter }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    await s.next(is('live', sub), 30_000);
    return s;
  };

  /** The subscription's frames add up to the database's rows, nothing twice, no version going back. */
  const converged = async (s: RawSocket, sub: string, filter: Filter) => {
    let diff: string | undefined;
    await until(
      async () => {
        diff = diffRows(viewOf(s.frames, sub).rows, await stack.writer.rows(matcher(filter)));
        return diff === undefined;
      },
      `${sub} ${JSON.stringify(filter)} to equal the database`,
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${diff}`);
    });
    const view = viewOf(s.frames, sub);
    expect(view.duplicates).toEqual([]);
    expect(view.regressions).toEqual([]);
    return view;
  };

  /** Orders of anyone but `customer` named in the frames of `sub`. */
  const foreign = (frames: readonly ServerFrame[], sub: string, customer: string): string[] =>
    frames.flatMap((f) => {
      if (!('sub' in f) || f.sub !== sub) return [];
      const rows: (Order | null)[] =
        f.type === 'snapshot' ? f.rows : f.type === 'change' ? [f.row, f.before] : [];
      return rows
        .filter((row): row is Order => row !== null && row.customerName !== customer)
        .map((row) => `${f.type} order ${row.id} of "${row.customerName}"`);
    });

  const setIdentity = async (identity: 'default' | 'full') => {
    if (identity === 'default') await stack.pipeline.sql`alter table orders replica identity default`;
    else await stack.pipeline.sql`alter table orders replica identity full`;
  };

  it('[P100] removes deleted and moved-out orders from exactly the views that held them, customer-scoped ones included, without a reset', async () => {
    const { writer } = stack;
    const alice = [
      await writer.insert('Alice', 'paid'),
      await writer.insert('Alice', 'pending'),
      await writer.insert('Alice', 'paid'),
    ];
    const bob = [
      await writer.insert('Bob', 'paid'),
      await writer.insert('Bob', 'pending'),
      await writer.insert('Bob', 'paid'),
    ];
    const [a1, a2, a3] = alice.map((o) => o.id) as [number, number, number];
    const [b1, b2, b3] = bob.map((o) => o.id) as [number, number, number];
    // Versions above 1, so a remove carrying Debezium's stand-in version would look stale.
    await writer.update(a1, { status: 'shipped' });
    await writer.update(a1, { status: 'paid' });
    await writer.update(b1, { status: 'shipped' });

    const views: { s: RawSocket; sub: string; filter: Filter; customer?: string }[] = [
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

    await setIdentity('default');
    try {
      await writer.remove(a1);
      await writer.remove(b1);
      await writer.remove(a2);
      await writer.update(a3, { status: 'shipped' });
      await writer.update(b2, { customer: 'Carol' });
      await writer.update(b3, { status: 'delivered' });
    } finally {
      await setIdentity('full');
    }
    for (const customer of ['Alice', 'Bob', 'Carol']) await writer.insert(customer, 'paid');

    for (const { s, sub, filter, customer } of views) {
      const view = await converged(s, sub, filter);
      expect(view.resets).toEqual([]);
      if (customer !== undefined) expect(foreign(s.frames, sub, customer)).toEqual([]);
    }
  });

  it('[P25][P101] resets a customer resuming from a cursor at a before-less remove it cannot place, and the view ends equal to the database', async () => {
    expectFaults({ faults: ['before_less_remove'], sub: 'back' });
    const { writer } = stack;
    const away = await subscribe('Dave', 'back');
    // Written after the snapshot, so past its fence: resuming after them asks nothing of it.
    const mine = await writer.insert('Dave', 'paid');
    const theirs = await writer.insert('Erin', 'paid');
    await until(() => viewOf(away.frames, 'back').rows.has(mine.id), 'Dave to get his new order', 30_000);
    const cursor = away.frames.findLast((f) => f.type === 'change' && f.sub === 'back');
    if (cursor === undefined || !('cursor' in cursor)) throw new Error('no cursor');
    away.close();

    const back = await subscribe('Dave', 'back', {}, cursor.cursor);
    await setIdentity('default');
    try {
      // Erin's order: nothing on the stream says whose it was, and the resumed view is unknown here.
      await writer.remove(theirs.id);
    } finally {
      await setIdentity('full');
    }
    await writer.update(mine.id, { status: 'shipped' });

    const view = await converged(back, 'back', { customer: 'Dave' });
    expect(view.resets).toEqual(['undeliverable']);
    expect(foreign(back.frames, 'back', 'Dave')).toEqual([]);
  });
});
