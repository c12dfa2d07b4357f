import type { Order } from '@orders/drizzle';
import type { StreamChange } from '@orders/worker/contract';
import { describe, expect, it } from 'vitest';
import { toFilter } from '../filter/filter.ts';
import type { EncodedFrame } from '../protocol/encoded-frame.ts';
import type { ChangeFrame, ServerFrame } from '../protocol/server-frame.ts';
import { ChangeFanout } from './change-fanout.ts';
import { Connection } from './connection.ts';
import { createSendStats } from './send-stats.ts';
import { Subscription } from './subscription.ts';

const order = (id: number, version: number, status: Order['status'] = 'pending'): Order => ({
  id,
  customerName: 'Alice',
  productName: 'widget',
  status,
  version,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

const change = (id: string, op: StreamChange['op'], row: Order, before: Order | null = null): ChangeFanout =>
  new ChangeFanout({
    id,
    change: {
      op,
      row,
      before,
      committedAt: 1,
      lsn: '',
      kafka: { topic: 't', partition: 0, offset: '0', timestamp: 0 },
    },
  });

function harness(maxBuffered = 100) {
  const sent: ServerFrame[] = [];
  const texts: EncodedFrame[] = [];
  const conn = new Connection(
    'c1',
    {
      send: (frame) => {
        texts.push(frame);
        sent.push(JSON.parse(frame.text) as ServerFrame);
      },
      bufferedAmount: () => 0,
      close: () => {},
    },
    createSendStats(),
  );
  const sub = new Subscription('s1', toFilter({ status: ['pending'] }), conn, maxBuffered);
  const changes = () => sent.filter((f): f is ChangeFrame => f.type === 'change');
  return { sub, sent, texts, changes };
}

describe('Subscription', () => {
  it('drops what the snapshot already reflects, by version', () => {
    const { sub, changes } = harness();
    sub.position = '5-0';
    sub.known.remember(1, 3);
    sub.deliver(change('6-0', 'update', order(1, 2), order(1, 1)));
    sub.deliver(change('7-0', 'update', order(1, 3), order(1, 2)));
    sub.deliver(change('8-0', 'update', order(1, 4), order(1, 3)));
    expect(changes().map((c) => c.row.version)).toEqual([4]);
  });

  it('forgets snapshot versions once live commits are well past the snapshot', () => {
    const { sub } = harness();
    sub.known.remember(1, 3);
    sub.known.sealed(1_000);
    sub.state = 'live';
    sub.offer(change('6-0', 'update', order(2, 2), order(2, 1)));
    expect(sub.known.size).toBe(1);
    const late = change('7-0', 'update', order(2, 3), order(2, 2));
    late.entry.change.committedAt = 1_000 + 60_001;
    sub.offer(late);
    expect(sub.known.size).toBe(0);
  });

  it('passes a delete of the version the snapshot holds', () => {
    const { sub, changes } = harness();
    sub.known.remember(1, 3);
    sub.deliver(change('6-0', 'delete', order(1, 3), order(1, 3)));
    expect(changes()).toMatchObject([{ op: 'delete', effect: 'remove' }]);
  });

  it('drops entries at or below its position', () => {
    const { sub, changes } = harness();
    sub.position = '10-0';
    sub.deliver(change('9-5', 'insert', order(1, 1)));
    sub.deliver(change('10-0', 'insert', order(2, 1)));
    sub.deliver(change('10-1', 'insert', order(3, 1)));
    expect(changes().map((c) => c.row.id)).toEqual([3]);
    expect(sub.position).toBe('10-1');
  });

  it('advances its position past changes outside the filter', () => {
    const { sub, changes } = harness();
    sub.deliver(change('3-0', 'insert', order(1, 1, 'paid')));
    expect(changes()).toHaveLength(0);
    expect(sub.position).toBe('3-0');
  });

  it('buffers live events while loading and flushes them without duplicates', () => {
    const { sub, sent } = harness();
    sub.offer(change('2-0', 'insert', order(1, 1)));
    sub.offer(change('3-0', 'insert', order(2, 1)));
    expect(sent).toHaveLength(0);
    // Replay already covered 2-0.
    sub.deliver(change('2-0', 'insert', order(1, 1)));
    sub.goLive(false);
    expect(sent.map((f) => (f.type === 'change' ? f.cursor : f.type))).toEqual(['2-0', '3-0', 'live']);
    sub.offer(change('4-0', 'insert', order(3, 1)));
    expect(sent).toHaveLength(4);
  });

  it('reports buffer overflow so history is replayed instead', () => {
    const { sub } = harness(1);
    sub.offer(change('2-0', 'insert', order(1, 1)));
    sub.offer(change('3-0', 'insert', order(2, 1)));
    expect(sub.takeOverflow()).toBe(true);
    expect(sub.takeOverflow()).toBe(false);
  });

  it('shares one serialized frame between subscribers with the same sub id', () => {
    const a = harness();
    const b = harness();
    const event = change('2-0', 'insert', order(1, 1));
    a.sub.state = 'live';
    b.sub.state = 'live';
    a.sub.offer(event);
    b.sub.offer(event);
    expect(a.texts[0]).toBe(b.texts[0]);
  });
});
