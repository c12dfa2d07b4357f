import { orderAt } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { FakeSocket } from '../test/fake-socket.ts';
import { type ClientEvents, OrdersClient } from './orders-client.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

async function connected() {
  FakeSocket.all = [];
  const client = new OrdersClient({ urls: ['ws://a/ws'], WebSocket: FakeSocket, autoConnect: false });
  const errors: ClientEvents['error'][] = [];
  client.on('error', (event) => errors.push(event));
  const sub = client.subscribe();
  client.connect();
  await tick();
  const ws = FakeSocket.all[0];
  if (ws === undefined) throw new Error('no socket');
  ws.open();
  ws.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: true });
  ws.deliver({ type: 'live', sub: 's1', cursor: '5-0', recovered: false });
  return { client, sub, ws, errors };
}

describe('OrdersClient at its boundary', () => {
  it('reports a message that is no frame as bad_frame and uses nothing of it', async () => {
    const { client, sub, ws, errors } = await connected();
    const changes: unknown[] = [];
    client.on('change', (event) => changes.push(event));
    // A change whose row lacks its version: applying it would corrupt the view.
    const { version: _, ...row } = orderAt(1, 2);
    ws.deliver({
      type: 'change',
      sub: 's1',
      cursor: '6-0',
      op: 'update',
      effect: 'upsert',
      row,
      before: null,
      committedAt: 1,
    });
    ws.deliverRaw('{"type":');
    ws.deliverRaw(new Uint8Array([1, 2]));
    ws.deliver({ type: 'reset', sub: 's1', reason: 'bored' });
    expect(errors.map(({ code, message, sub }) => ({ code, message, sub }))).toEqual([
      { code: 'bad_frame', message: 'gateway sent an invalid change frame', sub: undefined },
      { code: 'bad_frame', message: 'gateway sent invalid JSON', sub: undefined },
      { code: 'bad_frame', message: 'gateway sent a binary frame', sub: undefined },
      { code: 'bad_frame', message: 'gateway sent an invalid reset frame', sub: undefined },
    ]);
    expect(changes).toEqual([]);
    expect(sub.rows.get(1)).toEqual(orderAt(1, 1));
    expect(sub.cursor).toBe('5-0');
    expect(sub.live).toBe(true);
  });

  it('goes on with the frames after a bad one, and ignores fields it does not know', async () => {
    const { sub, ws, errors } = await connected();
    ws.deliver({ type: 'teleport', sub: 's1' });
    ws.deliver({
      type: 'change',
      sub: 's1',
      cursor: '6-0',
      op: 'update',
      effect: 'upsert',
      row: orderAt(1, 2),
      before: orderAt(1, 1),
      committedAt: 1,
      traceId: 'x',
    });
    expect(errors.map((e) => e.message)).toEqual(['gateway sent an invalid teleport frame']);
    expect(sub.rows.get(1)?.version).toBe(2);
    expect(sub.cursor).toBe('6-0');
  });

  it('routes a gateway error with its contract code to the client and the subscription', async () => {
    const { sub, ws, errors } = await connected();
    const subErrors: unknown[] = [];
    sub.on('error', (event) => subErrors.push(event));
    ws.deliver({ type: 'error', code: 'bad_request', message: 'filter: nope', sub: 's1' });
    ws.deliver({ type: 'error', code: 'rate_limited', message: 'slow down' });
    expect(errors.map(({ code, sub: of }) => ({ code, of: of?.id }))).toEqual([
      { code: 'bad_request', of: 's1' },
      { code: 'rate_limited', of: undefined },
    ]);
    expect(subErrors).toEqual([{ code: 'bad_request', message: 'filter: nope' }]);
  });
});
