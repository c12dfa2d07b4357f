import type { ChangeFrame, FilterInput, Order, ServerFrame } from '@orders/contract';
import { toFilter } from '@orders/contract';
import type { StreamChange } from '@orders/contract/redis';
import { order as fixture } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { createSendStats } from '../send-stats.ts';
import { RowVersions } from '../snapshot/row-versions.ts';
import { ChangeFanout } from './change-fanout.ts';
import { Connection } from './connection.ts';
import { HeldRows } from './held-rows.ts';
import { Subscription } from './subscription.ts';

/**
 * Changes without a before image (the table altered to REPLICA IDENTITY DEFAULT): updates
 * with `before: null`, and deletes whose before image holds only the key, which Debezium
 * fills with its stand-ins (empty text, the column defaults, the epoch for timestamps).
 */

const EPOCH = 'e1';

const order = (id: number, version: number, patch: Partial<Order> = {}): Order =>
  fixture({ id, version, status: 'paid', ...patch });

/** What a delete of order `id` carries under REPLICA IDENTITY DEFAULT, as the worker forwards it. */
const keyOnly = (id: number): Order => ({
  id,
  customerName: '',
  productName: '',
  status: 'pending',
  version: 1,
  createdAt: '1970-01-01T00:00:00.000Z',
  updatedAt: '1970-01-01T00:00:00.000Z',
});

const event = (id: string, op: StreamChange['op'], row: Order, before: Order | null): ChangeFanout =>
  new ChangeFanout(
    {
      id,
      change: {
        op,
        row,
        before,
        committedAt: 1,
        lsn: '',
        kafka: { topic: 't', partition: 0, offset: '0', timestamp: 0 },
      },
    },
    EPOCH,
  );

const keyOnlyDelete = (id: string, orderId: number) =>
  event(id, 'delete', keyOnly(orderId), keyOnly(orderId));
const beforeLessUpdate = (id: string, row: Order) => event(id, 'update', row, null);

/** A live subscription whose snapshot held `rows`, scoped to `scope` when given (a customer token). */
function subscribed(filter: FilterInput, rows: Order[], scope?: string) {
  const sent: ServerFrame[] = [];
  const conn = new Connection(
    'c1',
    {
      send: (frame) => sent.push(JSON.parse(frame.text) as ServerFrame),
      bufferedAmount: () => 0,
      close: () => {},
    },
    createSendStats(),
  );
  const sub = new Subscription(
    's1',
    toFilter(scope === undefined ? filter : { ...filter, customer: scope }),
    conn,
    100,
  );
  sub.scope = scope;
  sub.epoch = EPOCH;
  sub.position = '1-0';
  sub.held.clear();
  sub.known.rememberPage(RowVersions.of(rows));
  for (const row of rows) sub.held.add(row.id, row.version);
  sub.goLive(false);
  sub.reloader = { reload: () => {} };
  const changes = () => sent.filter((f): f is ChangeFrame => f.type === 'change');
  return { sub, sent, changes };
}

describe('a delete whose before image holds only the key', () => {
  it('reaches a customer-scoped subscription that holds the row, at the version it holds', () => {
    const { sub, changes } = subscribed({}, [order(1, 3), order(2, 1)], 'Alice');
    sub.offer(keyOnlyDelete('2-0', 1));
    expect(changes()).toMatchObject([
      { op: 'delete', effect: 'remove', row: { id: 1, version: 3, customerName: 'Alice' }, before: null },
    ]);
  });

  it('[P100] reaches filtered and unfiltered subscriptions that hold the row, and no other', () => {
    const paid = subscribed({ status: ['paid'] }, [order(1, 3)]);
    const all = subscribed({}, [order(1, 3), order(2, 1)]);
    const bob = subscribed({}, [order(5, 1, { customerName: 'Bob' })], 'Bob');
    const pending = subscribed({ status: ['pending'] }, []);
    for (const { sub } of [paid, all, bob, pending]) sub.offer(keyOnlyDelete('2-0', 1));
    // A remove older than the row the client holds would be dropped by it as stale.
    expect(paid.changes()).toMatchObject([{ effect: 'remove', row: { id: 1, version: 3 } }]);
    expect(all.changes()).toMatchObject([{ effect: 'remove', row: { id: 1, version: 3 } }]);
    expect(bob.changes()).toEqual([]);
    expect(pending.changes()).toEqual([]);
  });

  it('is not sent twice, nor after the row left the view', () => {
    const { sub, changes } = subscribed({}, [order(1, 3)], 'Alice');
    sub.offer(keyOnlyDelete('2-0', 1));
    sub.offer(beforeLessUpdate('3-0', order(2, 2, { customerName: 'Bob' })));
    sub.offer(keyOnlyDelete('4-0', 1));
    expect(changes().map((c) => [c.row.id, c.effect])).toEqual([[1, 'remove']]);
  });
});

describe('a before-less remove for a subscription with many rows', () => {
  it('never reaches a customer who does not hold the row, however many rows they hold', () => {
    const many = Array.from({ length: 10_001 }, (_, i) => order(100 + i, 1, { customerName: 'Bob' }));
    const { sub, changes } = subscribed({}, many, 'Bob');
    // Alice's order 7 leaves the paid status, and then another of hers is deleted.
    sub.offer(beforeLessUpdate('2-0', order(7, 2, { status: 'shipped' })));
    sub.offer(keyOnlyDelete('3-0', 8));
    expect(changes()).toEqual([]);
    expect(sub.takeReset()).toBeUndefined();
    // Bob's own rows still leave his view.
    sub.offer(keyOnlyDelete('4-0', 100));
    expect(changes()).toMatchObject([{ effect: 'remove', row: { id: 100, customerName: 'Bob' } }]);
  });

  it('[P83] past the tracking cap, resets the subscription instead of guessing', () => {
    const { sub, changes } = subscribed({}, [], 'Bob');
    for (let id = 1; id <= sub.held.cap + 1; id++) sub.held.add(id, 1);
    sub.offer(keyOnlyDelete('2-0', 1_000_000));
    expect(changes()).toEqual([]);
    expect(sub.state.kind).toBe('resetting');
    expect(sub.takeReset()).toBe('undeliverable');
    expect(sub.state.kind).toBe('loading');
  });
});

describe('held rows recorded from snapshot pages', () => {
  it('answers versions of a page and changes over it, and forgets everything past the cap', () => {
    const held = new HeldRows(4);
    held.addPage(RowVersions.of([order(1, 3), order(2, 1), order(5, 2)]));
    held.add(2, 4);
    held.delete(5);
    expect([1, 2, 5, 7].map((id) => held.versionOf(id))).toEqual([3, 4, undefined, undefined]);
    expect(held.known).toBe(true);
    const large = new HeldRows(4);
    large.addPage(RowVersions.of([order(1, 1), order(2, 1), order(5, 2)]));
    large.addPage(RowVersions.of([order(8, 1), order(9, 1)]));
    expect([large.known, large.versionOf(1)]).toEqual([false, undefined]);
  });
});

describe('a subscription resumed from a cursor', () => {
  const resumed = (scope?: string) => {
    const harness = subscribed({}, [], scope);
    // No snapshot on this gateway: which rows the client holds is unknown here.
    harness.sub.held.forget();
    return harness;
  };

  it('[P101] resets at a before-less remove it cannot place, and sends nothing for it', () => {
    const { sub, changes } = resumed('Bob');
    sub.offer(keyOnlyDelete('2-0', 1));
    expect(changes()).toEqual([]);
    expect(sub.takeReset()).toBe('undeliverable');
  });

  it('takes a before-less update inside its filter without a reset', () => {
    const { sub, changes } = resumed('Alice');
    sub.offer(beforeLessUpdate('2-0', order(1, 2)));
    expect(changes()).toMatchObject([{ effect: 'upsert', row: { id: 1, version: 2 } }]);
    expect(sub.takeReset()).toBeUndefined();
  });
});
