import { orderAt } from '@orders/contract/testing';
import { describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../test/fake-socket.ts';
import { OrdersClient } from './orders-client.ts';
import type { Subscription } from './subscription.ts';
import type { SubscriptionState } from './subscription-state.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup(token?: () => string) {
  FakeSocket.all = [];
  const client = new OrdersClient({
    urls: ['ws://a/ws', 'ws://b/ws'],
    WebSocket: FakeSocket,
    minBackoffMs: 1,
    maxBackoffMs: 2,
    autoConnect: false,
    ...(token === undefined ? {} : { token }),
  });
  return client;
}

/** Every state a subscription goes through, in order. */
function track(sub: Subscription): SubscriptionState[] {
  const seen: SubscriptionState[] = [];
  sub.on('state', ({ state, previous }) => {
    expect(previous).toBe(seen.at(-1) ?? previous);
    seen.push(state);
  });
  return seen;
}

const last = () => {
  const socket = FakeSocket.all.at(-1);
  if (socket === undefined) throw new Error('no socket');
  return socket;
};

async function reconnect(count: number) {
  await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(count));
  return last();
}

const snapshot = (cursor = '5-0') => ({
  type: 'snapshot',
  sub: 's1',
  rows: [orderAt(1, 1)],
  cursor,
  done: true,
});
const live = (recovered: boolean, cursor = '5-0') => ({ type: 'live', sub: 's1', cursor, recovered });
const liveState = (over: Partial<Extract<SubscriptionState, { phase: 'live' }>>) => ({
  phase: 'live',
  recovered: false,
  reset: undefined,
  offlineSince: undefined,
  again: false,
  ...over,
});

describe('Subscription state', () => {
  it('loads, goes live, goes offline when the connection drops and resumes from its cursor', async () => {
    const client = setup();
    const sub = client.subscribe();
    const seen = track(sub);
    expect(sub.state).toEqual({ phase: 'loading' });
    client.connect();
    await tick();
    const a = last();
    a.open();
    a.deliver(snapshot());
    expect(sub.state).toEqual({ phase: 'loading' });
    a.deliver(live(false));
    expect(sub.state).toEqual(liveState({}));
    const before = Date.now();
    a.drop();
    const offline = sub.state;
    expect(offline).toMatchObject({ phase: 'offline', lastError: undefined });
    const since = offline.phase === 'offline' ? offline.since : 0;
    expect(since).toBeGreaterThanOrEqual(before);
    expect(since).toBeLessThanOrEqual(Date.now());
    // A failed attempt changes nothing: still offline since the same moment.
    (await reconnect(2)).drop();
    const b = await reconnect(3);
    expect(sub.state).toBe(offline);
    b.open();
    expect(sub.state).toEqual({ phase: 'resuming' });
    b.deliver(live(true, '7-0'));
    expect(sub.state).toEqual(liveState({ recovered: true, offlineSince: since, again: true }));
    expect(seen.map((s) => s.phase)).toEqual(['live', 'offline', 'resuming', 'live']);
    client.close();
  });

  it('resyncs after a reset, keeps the reason across a lost connection, and names it when live', async () => {
    const client = setup();
    const sub = client.subscribe();
    const seen = track(sub);
    client.connect();
    await tick();
    const a = last();
    a.open();
    a.deliver(snapshot());
    a.deliver(live(false));
    a.deliver({ type: 'reset', sub: 's1', reason: 'truncate' });
    expect(sub.state).toEqual({ phase: 'resyncing', reason: 'truncate' });
    expect(sub.live).toBe(false);
    a.drop();
    const b = await reconnect(2);
    b.open();
    expect(sub.state).toEqual({ phase: 'resyncing', reason: 'truncate' });
    expect(b.sent).toEqual([{ type: 'subscribe', sub: 's1', filter: {} }]);
    b.deliver(snapshot('9-0'));
    b.deliver(live(false, '9-0'));
    const offline = seen.find((s) => s.phase === 'offline');
    expect(sub.state).toEqual(
      liveState({
        reset: 'truncate',
        offlineSince: offline?.phase === 'offline' ? offline.since : -1,
        again: true,
      }),
    );
    expect(seen.map((s) => s.phase)).toEqual(['live', 'resyncing', 'offline', 'resyncing', 'live']);
    // The next interruption starts from nothing.
    b.deliver({ type: 'reset', sub: 's1', reason: 'cursor_expired' });
    b.deliver(snapshot('10-0'));
    b.deliver(live(false, '10-0'));
    expect(sub.state).toEqual(liveState({ reset: 'cursor_expired', again: true }));
    client.close();
  });

  it('reports every live frame, also a refill while live, and a first live after a reset as not again', async () => {
    const client = setup();
    const sub = client.subscribe();
    const seen = track(sub);
    client.connect();
    await tick();
    const ws = last();
    ws.open();
    ws.deliver({ type: 'reset', sub: 's1', reason: 'stream_gap' });
    ws.deliver(snapshot());
    ws.deliver(live(false));
    expect(sub.state).toEqual(liveState({ reset: 'stream_gap' }));
    ws.deliver(live(true, '6-0'));
    ws.deliver(live(true, '7-0'));
    expect(seen).toEqual([
      { phase: 'resyncing', reason: 'stream_gap' },
      liveState({ reset: 'stream_gap' }),
      liveState({ recovered: true, again: true }),
      liveState({ recovered: true, again: true }),
    ]);
    client.close();
  });

  it('keeps the last error of the subscription or its connection while offline, until it is live again', async () => {
    let fail = false;
    const client = setup(() => {
      if (fail) throw new Error('token service down');
      return 'not-a-jwt';
    });
    const sub = client.subscribe();
    const other = client.subscribe({ ids: [2] });
    client.connect();
    await tick();
    const a = last();
    a.open();
    a.deliver(live(false));
    a.deliver({ type: 'error', code: 'bad_request', message: 'nope', sub: 's2' });
    a.deliver({ type: 'error', code: 'slow_consumer', message: 'too slow' });
    a.deliver({ type: 'error', code: 'internal', message: 'db', sub: 's2' });
    fail = true;
    a.drop(4008);
    expect(sub.state).toMatchObject({
      phase: 'offline',
      lastError: { code: 'slow_consumer', message: 'too slow' },
    });
    expect(other.state).toMatchObject({ phase: 'offline', lastError: { code: 'internal', message: 'db' } });
    // connect_failed (the token provider threw) is the connection's attempt count, not kept here.
    await vi.waitFor(() => expect(client.connection.attempt).toBeGreaterThan(1));
    expect(sub.state).toMatchObject({ phase: 'offline', lastError: { code: 'slow_consumer' } });
    fail = false;
    const b = await reconnect(2);
    b.open();
    b.deliverRaw('not json');
    b.drop();
    expect(sub.state).toMatchObject({
      phase: 'offline',
      lastError: { code: 'bad_frame', message: 'gateway sent invalid JSON' },
    });
    const c = await reconnect(3);
    c.open();
    c.deliver(live(true));
    c.drop();
    expect(sub.state).toMatchObject({ phase: 'offline', lastError: undefined });
    client.close();
  });

  it('loads without going offline while the first connection fails, and is offline from birth during an outage', async () => {
    const client = setup();
    const sub = client.subscribe();
    const seen = track(sub);
    client.connect();
    await tick();
    last().drop();
    const a = await reconnect(2);
    expect(sub.state).toEqual({ phase: 'loading' });
    a.open();
    expect(seen).toEqual([]);
    const before = Date.now();
    a.drop();
    const lostAt = sub.state.phase === 'offline' ? sub.state.since : -1;
    expect(lostAt).toBeGreaterThanOrEqual(before);
    const late = client.subscribe({ status: ['paid'] });
    expect(late.state).toEqual({ phase: 'offline', since: lostAt, lastError: undefined });
    const b = await reconnect(3);
    b.open();
    // Neither has a complete view: both load afresh.
    expect(sub.state).toEqual({ phase: 'loading' });
    expect(late.state).toEqual({ phase: 'loading' });
    expect(client.subscribe({ ids: [3] }).state).toEqual({ phase: 'loading' });
    client.close();
  });

  it('is closed after unsubscribe or close, and stays so', async () => {
    const client = setup();
    const sub = client.subscribe();
    const kept = client.subscribe({ ids: [1] });
    client.connect();
    await tick();
    const ws = last();
    ws.open();
    ws.deliver(live(false));
    sub.unsubscribe();
    expect(sub.state).toEqual({ phase: 'closed' });
    ws.deliver(live(true));
    expect(sub.state).toEqual({ phase: 'closed' });
    ws.deliver({ type: 'live', sub: 's2', cursor: '5-0', recovered: false });
    client.close();
    expect(kept.state).toEqual({ phase: 'closed' });
    expect(kept.live).toBe(false);
  });
});
