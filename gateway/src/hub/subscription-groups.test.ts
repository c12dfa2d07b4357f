import type { ChangeFrame, Order, ServerFrame } from '@orders/contract';
import { formatCursorVector, parseCursor, toFilter } from '@orders/contract';
import { orderAt } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { createSendStats } from '../send-stats.ts';
import { ChangeFanout } from './change-fanout.ts';
import { Connection } from './connection.ts';
import { MarkerEvent } from './marker-event.ts';
import { Subscription } from './subscription.ts';

const EPOCHS = ['e0', 'e1', 'e2'];

const change = (group: number, id: string, row: Order, epoch = EPOCHS[group] ?? ''): ChangeFanout =>
  new ChangeFanout(
    {
      id,
      change: {
        op: 'update',
        row,
        before: null,
        committedAt: 1,
        lsn: '',
        kafka: { topic: 't', partition: group, offset: '0', timestamp: 0 },
      },
    },
    epoch,
    group,
  );

function harness() {
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
  const sub = new Subscription('s1', toFilter({}), conn, 100, 3);
  sub.setPositions(EPOCHS.map((epoch) => ({ epoch, id: '5-0' })));
  sub.goLive(false);
  const changes = () => sent.filter((f): f is ChangeFrame => f.type === 'change');
  return { sub, changes };
}

describe('Subscription with shard groups', () => {
  it('[P32] keeps one position per group and sends its whole vector as each change cursor', () => {
    const { sub, changes } = harness();
    expect(sub.cursor).toBe(formatCursorVector(EPOCHS.map((epoch) => ({ epoch, id: '5-0' }))));
    sub.deliver(change(1, '9-0', orderAt(1, 2)));
    sub.deliver(change(0, '6-0', orderAt(2, 2)));
    // Ids are compared within a group only: 7-0 is new in group 2 although group 1 is at 9-0.
    sub.deliver(change(2, '7-0', orderAt(3, 2)));
    const cursors = changes().map((c) => parseCursor(c.cursor));
    expect(cursors).toEqual([
      {
        kind: 'vector',
        cursors: [
          { epoch: 'e0', id: '5-0' },
          { epoch: 'e1', id: '9-0' },
          { epoch: 'e2', id: '5-0' },
        ],
      },
      {
        kind: 'vector',
        cursors: [
          { epoch: 'e0', id: '6-0' },
          { epoch: 'e1', id: '9-0' },
          { epoch: 'e2', id: '5-0' },
        ],
      },
      {
        kind: 'vector',
        cursors: [
          { epoch: 'e0', id: '6-0' },
          { epoch: 'e1', id: '9-0' },
          { epoch: 'e2', id: '7-0' },
        ],
      },
    ]);
    expect(sub.positionOf(2)).toBe('7-0');
  });

  it("drops what a group's position already covers, whatever the other groups' positions", () => {
    const { sub, changes } = harness();
    sub.deliver(change(1, '5-0', orderAt(1, 2)));
    sub.deliver(change(1, '4-9', orderAt(1, 3)));
    sub.deliver(change(0, '5-1', orderAt(1, 4)));
    expect(changes().map((c) => c.row.version)).toEqual([4]);
  });

  it('resets on an event of another epoch in its group, and on a marker in any group', () => {
    const first = harness();
    first.sub.deliver(change(2, '8-0', orderAt(1, 2), 'lost'));
    expect(first.sub.takeReset()).toBe('epoch_changed');
    expect(first.changes()).toEqual([]);
    const second = harness();
    second.sub.deliver(new MarkerEvent('8-0', 'truncate', 'e1', 1));
    expect(second.sub.takeReset()).toBe('truncate');
  });
});
