import type { ChangeFrame, Order } from '@orders/contract';
import { order } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { ChangeFanout } from './change-fanout.ts';
import { scopedChangeFrame } from './scoped-change-frame.ts';

const fanout = (row: Order, before: Order | null) =>
  new ChangeFanout(
    {
      id: '5-0',
      change: {
        op: 'update',
        row,
        before,
        committedAt: 1,
        lsn: '',
        kafka: { topic: 't', partition: 0, offset: '0', timestamp: 0 },
      },
    },
    'e1',
  );

describe('scopedChangeFrame', () => {
  const parse = (text: string) => JSON.parse(text) as ChangeFrame;

  it('shares the fan-out bytes when nothing foreign is in the change', () => {
    const f = fanout(order({ version: 2, status: 'paid' }), order());
    expect(scopedChangeFrame(f, 's', 'upsert', 'Alice')).toBe(f.frame('s', 'upsert'));
  });

  it('[P54] hides the new owner of an order that leaves the view', () => {
    const f = fanout(order({ customerName: 'Bob', productName: 'secret', version: 2 }), order());
    const frame = parse(scopedChangeFrame(f, 's', 'remove', 'Alice').text);
    expect(frame).toMatchObject({ effect: 'remove', row: { id: 1, customerName: 'Alice', version: 2 } });
    expect(JSON.stringify(frame)).not.toContain('Bob');
    expect(JSON.stringify(frame)).not.toContain('secret');
  });

  it('[P54] hides the previous owner of an order that enters the view', () => {
    const f = fanout(order({ version: 2 }), order({ customerName: 'Bob' }));
    const frame = parse(scopedChangeFrame(f, 's', 'upsert', 'Alice').text);
    expect(frame).toMatchObject({ effect: 'upsert', row: { customerName: 'Alice' }, before: null });
  });
});
