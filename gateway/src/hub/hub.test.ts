import type { ChangeFrame, ServerFrame } from '@orders/contract';
import { toFilter } from '@orders/contract';
import type { StreamEntry } from '@orders/contract/redis';
import { orderAt } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { createSendStats } from '../send-stats.ts';
import { Connection } from './connection.ts';
import { Hub } from './hub.ts';
import { Subscription } from './subscription.ts';

const EPOCH = 'e1';

const update = (id: string, orderId: number, version: number): StreamEntry => ({
  id,
  change: {
    op: 'update',
    row: orderAt(orderId, version),
    before: orderAt(orderId, version - 1),
    committedAt: 1,
    lsn: '',
    kafka: { topic: 't', partition: 0, offset: '0', timestamp: 0 },
  },
});

/** A hub with one socket per filter, each with one live subscription `s1` at `0-1`. */
function hubWith(...filters: Parameters<typeof toFilter>[0][]) {
  const hub = new Hub();
  hub.epoch = EPOCH;
  const sockets = filters.map((filter, i) => {
    const frames: ServerFrame[] = [];
    const corks = { cork: 0, uncork: 0 };
    const conn = new Connection(
      `c${i}`,
      {
        send: (frame) => frames.push(JSON.parse(frame.text) as ServerFrame),
        bufferedAmount: () => 0,
        close: () => {},
        cork: () => corks.cork++,
        uncork: () => corks.uncork++,
      },
      createSendStats(),
    );
    hub.add(conn);
    const sub = new Subscription('s1', toFilter(filter), conn, 100);
    sub.epoch = EPOCH;
    sub.position = '0-1';
    sub.goLive(false);
    frames.length = 0;
    conn.subs.set(sub.id, sub);
    const changes = () => frames.filter((f): f is ChangeFrame => f.type === 'change').map((f) => f.row.id);
    return { conn, sub, frames, corks, changes };
  });
  return { hub, sockets };
}

describe('Hub dispatch through the subscription index', () => {
  it('offers a change to subscriptions watching its order and to every unindexed one, nothing else', () => {
    const { hub, sockets } = hubWith({ ids: [1, 2] }, { ids: [3] }, {}, { status: ['paid'] });
    hub.dispatch([update('1-0', 1, 2), update('2-0', 3, 2), update('3-0', 7, 2)]);
    const [ones, three, all, paid] = sockets.map((s) => s.changes());
    expect(ones).toEqual([1]);
    expect(three).toEqual([3]);
    expect(all).toEqual([1, 3, 7]);
    expect(paid).toEqual([]);
    // Only sockets offered something were corked, each once, and every cork was undone.
    expect(sockets.map((s) => s.corks)).toEqual([
      { cork: 1, uncork: 1 },
      { cork: 1, uncork: 1 },
      { cork: 1, uncork: 1 },
      { cork: 1, uncork: 1 },
    ]);
    hub.dispatch([update('4-0', 7, 3)]);
    expect(sockets.map((s) => s.corks.cork)).toEqual([1, 1, 2, 2]);
  });

  it('sends reset markers to every subscription, indexed or not', () => {
    const { hub, sockets } = hubWith({ ids: [1] }, {});
    hub.dispatch([{ id: '5-0', reset: 'truncate' }]);
    expect(sockets.map((s) => s.sub.state.kind)).toEqual(['resetting', 'resetting']);
    expect(sockets.map((s) => s.sub.takeReset())).toEqual(['truncate', 'truncate']);
  });

  it('moves a passed-over live subscription to the last event, but never a loading one', () => {
    const { hub, sockets } = hubWith({ ids: [1] }, { ids: [2] });
    const [live, loading] = sockets;
    if (live === undefined || loading === undefined) throw new Error('two sockets');
    // Its stream lost entries: it reloads from its position (no loader is attached here).
    loading.sub.resync();
    expect(loading.sub.state.kind).toBe('loading');
    hub.dispatch([update('7-0', 9, 2), update('8-0', 9, 3)]);
    expect(live.sub.cursor).toBe(`${EPOCH}.8-0`);
    expect(loading.sub.position).toBe('0-1');
    // A subscription of another history is not moved by this one's events.
    live.sub.epoch = 'e0';
    live.sub.position = '0-1';
    expect(live.sub.position).toBe('0-1');
  });

  it("with shard groups, moves each position only by its own group's last event", () => {
    const hub = new Hub();
    hub.epochs.splice(0, 1, 'g0', 'g1');
    const frames: ServerFrame[] = [];
    const conn = new Connection(
      'c0',
      {
        send: (f) => frames.push(JSON.parse(f.text) as ServerFrame),
        bufferedAmount: () => 0,
        close: () => {},
      },
      createSendStats(),
    );
    hub.add(conn);
    const sub = new Subscription('s1', toFilter({ ids: [1] }), conn, 100, 2);
    sub.setPositions([
      { epoch: 'g0', id: '0-1' },
      { epoch: 'g1', id: '0-1' },
    ]);
    sub.goLive(false);
    conn.subs.set(sub.id, sub);
    hub.dispatch([update('5-0', 9, 2)], 1);
    expect(sub.cursor).toBe('g0.0-1~g1.5-0');
    hub.dispatch([update('6-0', 1, 2)], 0);
    const change = frames.find((f): f is ChangeFrame => f.type === 'change');
    expect(change?.cursor).toBe('g0.6-0~g1.5-0');
  });

  it('forgets subscriptions however they leave: unsubscribe, replacement, socket closed', () => {
    const { hub, sockets } = hubWith({ ids: [1] }, { ids: [1] }, {});
    const [a, b, c] = sockets;
    if (a === undefined || b === undefined || c === undefined) throw new Error('three sockets');
    expect(hub.subscriptionCount()).toBe(3);
    a.conn.subs.delete('s1');
    b.conn.subs.set('s1', new Subscription('s1', toFilter({ ids: [2] }), b.conn, 100));
    c.conn.close(1000, 'bye');
    expect(hub.subscriptionCount()).toBe(1);
    hub.dispatch([update('9-0', 1, 2)]);
    expect(sockets.map((s) => s.changes())).toEqual([[], [], []]);
  });
});
