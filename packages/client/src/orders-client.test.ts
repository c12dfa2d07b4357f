import { orderAt } from '@orders/contract/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../test/fake-socket.ts';
import { OrdersClient } from './orders-client.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup() {
  FakeSocket.all = [];
  const client = new OrdersClient({
    urls: ['ws://a/ws', 'ws://b/ws'],
    WebSocket: FakeSocket,
    minBackoffMs: 1,
    maxBackoffMs: 2,
    autoConnect: false,
  });
  const states: string[] = [];
  client.on('state', ({ state }) => states.push(state));
  client.connect();
  return { client, states };
}

const last = () => {
  const socket = FakeSocket.all.at(-1);
  if (socket === undefined) throw new Error('no socket');
  return socket;
};

describe('OrdersClient', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('subscribes on welcome, merges snapshot and changes, and is ready when live', async () => {
    const { client, states } = setup();
    const sub = client.subscribe({ status: ['pending'] });
    await tick();
    const ws = last();
    ws.open();
    expect(ws.sent).toEqual([{ type: 'subscribe', sub: 's1', filter: { status: ['pending'] } }]);
    ws.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: false });
    expect(sub.rows.size).toBe(0);
    ws.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(2, 4)], cursor: '5-0', done: true });
    expect([...sub.rows.keys()]).toEqual([1, 2]);
    const ready = client.ready();
    ws.deliver({ type: 'live', sub: 's1', cursor: '5-0', recovered: false });
    await ready;
    ws.deliver({
      type: 'change',
      sub: 's1',
      cursor: '6-0',
      op: 'update',
      effect: 'upsert',
      row: orderAt(1, 2),
      before: orderAt(1, 1),
      committedAt: 1,
    });
    ws.deliver({
      type: 'change',
      sub: 's1',
      cursor: '7-0',
      op: 'update',
      effect: 'upsert',
      row: orderAt(2, 3),
      before: null,
      committedAt: 1,
    });
    ws.deliver({
      type: 'change',
      sub: 's1',
      cursor: '8-0',
      op: 'delete',
      effect: 'remove',
      row: orderAt(1, 2),
      before: orderAt(1, 2),
      committedAt: 1,
    });
    expect([...sub.rows.values()].map((r) => [r.id, r.version])).toEqual([[2, 4]]);
    expect(sub.cursor).toBe('8-0');
    expect(states).toEqual(['connecting', 'connected']);
    client.close();
    expect(client.state).toBe('closed');
  });

  it('asks a gateway that offers batches for them, and applies a batch change by change', async () => {
    const { client } = setup();
    const sub = client.subscribe();
    await tick();
    const ws = last();
    ws.readyState = 1;
    ws.deliver({ type: 'welcome', gateway: 'g', protocol: 1, heartbeatMs: 60_000, features: ['changes'] });
    expect(ws.sent).toEqual([
      { type: 'options', changes: true },
      { type: 'subscribe', sub: 's1', filter: {} },
    ]);
    ws.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: true });
    ws.deliver({ type: 'live', sub: 's1', cursor: '5-0', recovered: false });
    const seen: string[] = [];
    client.on('change', ({ change }) => seen.push(`${change.row.id}:${change.row.version}`));
    const change = (cursor: string, id: number, version: number) => ({
      type: 'change',
      sub: 's1',
      cursor,
      op: 'update',
      effect: 'upsert',
      row: orderAt(id, version),
      before: null,
      committedAt: 1,
    });
    ws.deliver({ type: 'changes', changes: [change('6-0', 1, 2), change('7-0', 2, 1), change('8-0', 1, 3)] });
    expect(seen).toEqual(['1:2', '2:1', '1:3']);
    expect([...sub.rows.values()].map((r) => [r.id, r.version])).toEqual([
      [1, 3],
      [2, 1],
    ]);
    expect(sub.cursor).toBe('8-0');
    client.close();
  });

  it('does not ask for batches when the gateway offers none or batches are turned off', async () => {
    const { client } = setup();
    client.subscribe();
    await tick();
    last().open();
    expect((last().sent as { type: string }[]).map((f) => f.type)).toEqual(['subscribe']);
    client.close();
    FakeSocket.all = [];
    const off = new OrdersClient({ urls: ['ws://a/ws'], WebSocket: FakeSocket, batchChanges: false });
    off.subscribe();
    await tick();
    last().readyState = 1;
    last().deliver({
      type: 'welcome',
      gateway: 'g',
      protocol: 1,
      heartbeatMs: 60_000,
      features: ['changes'],
    });
    expect((last().sent as { type: string }[]).map((f) => f.type)).toEqual(['subscribe']);
    off.close();
  });

  it('takes newer positions from pong for live subscriptions', async () => {
    const { client } = setup();
    const sub = client.subscribe({ customer: 'Nobody' });
    await tick();
    const ws = last();
    ws.open();
    ws.deliver({ type: 'snapshot', sub: 's1', rows: [], cursor: '5-0', done: true });
    ws.deliver({ type: 'pong', cursors: { s1: '6-0' } });
    expect(sub.cursor).toBe('5-0');
    ws.deliver({ type: 'live', sub: 's1', cursor: '5-0', recovered: false });
    ws.deliver({ type: 'pong', cursors: { s1: '9-0', other: '1-0' } });
    expect(sub.cursor).toBe('9-0');
    client.close();
  });

  it('fails over to the next URL and resumes from the cursor', async () => {
    const { client } = setup();
    const sub = client.subscribe({});
    await tick();
    const a = last();
    a.open('ga');
    a.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: true });
    a.deliver({ type: 'live', sub: 's1', cursor: '9-0', recovered: false });
    a.drop();
    expect(client.state).toBe('disconnected');
    expect(sub.live).toBe(false);
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    const b = last();
    expect(b.url).toBe('ws://b/ws');
    b.open('gb');
    expect(b.sent).toEqual([{ type: 'subscribe', sub: 's1', filter: {}, cursor: '9-0' }]);
    expect(sub.rows.size).toBe(1);
    client.close();
  });

  it('reports attempts, the next retry time and the close code while disconnected', async () => {
    const { client } = setup();
    const seen: { state: string; attempt: number; retryAt: number | undefined; code: number | undefined }[] =
      [];
    client.on('state', ({ state, attempt, retryAt, code }) => seen.push({ state, attempt, retryAt, code }));
    await tick();
    const before = Date.now();
    last().drop(4008);
    const waiting = seen.at(-1);
    expect(waiting).toMatchObject({ state: 'disconnected', attempt: 1, code: 4008 });
    // The retry time is the client's own timer: within the first ceiling (2 ms here).
    expect(waiting?.retryAt).toBeGreaterThanOrEqual(before);
    expect(waiting?.retryAt).toBeLessThanOrEqual(Date.now() + 2);
    expect(client.connection).toMatchObject({ state: 'disconnected', attempt: 1, code: 4008 });
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    expect(seen.at(-1)).toMatchObject({ state: 'connecting', attempt: 1, retryAt: undefined });
    last().drop();
    expect(seen.at(-1)).toMatchObject({ state: 'disconnected', attempt: 2, code: 1006 });
    client.close();
  });

  it('ignores callbacks from a stale socket', async () => {
    const { client } = setup();
    const sub = client.subscribe({});
    await tick();
    const a = last();
    a.open();
    a.drop();
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    a.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: true });
    a.drop();
    expect(sub.rows.size).toBe(0);
    expect(FakeSocket.all).toHaveLength(2);
    client.close();
  });

  it('clears rows on reset and takes the new snapshot', async () => {
    const { client } = setup();
    const sub = client.subscribe({});
    const resets: string[] = [];
    sub.on('reset', ({ reason }) => resets.push(reason));
    await tick();
    const ws = last();
    ws.open();
    ws.deliver({
      type: 'snapshot',
      sub: 's1',
      rows: [orderAt(1, 1), orderAt(2, 1)],
      cursor: '5-0',
      done: true,
    });
    ws.deliver({ type: 'reset', sub: 's1', reason: 'cursor_expired' });
    expect(sub.rows.size).toBe(0);
    expect(sub.cursor).toBeUndefined();
    ws.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(2, 5)], cursor: '20-0', done: true });
    expect([...sub.rows.values()].map((r) => r.version)).toEqual([5]);
    expect(resets).toEqual(['cursor_expired']);
    client.close();
  });

  it('discards a half-received snapshot when the socket drops', async () => {
    const { client } = setup();
    const sub = client.subscribe({});
    await tick();
    const a = last();
    a.open();
    a.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: false });
    a.drop();
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    const b = last();
    b.open();
    expect(b.sent).toEqual([{ type: 'subscribe', sub: 's1', filter: {} }]);
    b.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(3, 1)], cursor: '6-0', done: true });
    expect([...sub.rows.keys()]).toEqual([3]);
    client.close();
  });

  it('sends unsubscribe and stops routing frames to the subscription', async () => {
    const { client } = setup();
    const sub = client.subscribe({});
    await tick();
    const ws = last();
    ws.open();
    sub.unsubscribe();
    expect(ws.sent.at(-1)).toEqual({ type: 'unsubscribe', sub: 's1' });
    ws.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: true });
    expect(sub.rows.size).toBe(0);
    client.close();
  });

  it('refreshes its token over the open socket before exp, and after a 4401 reconnects with a fresh one', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    FakeSocket.all = [];
    const minted: string[] = [];
    const mint = () => {
      const claims = { role: 'staff', exp: Math.floor(Date.now() / 1000) + 10, n: minted.length };
      minted.push(`h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`);
      return minted.at(-1) ?? '';
    };
    const client = new OrdersClient({
      urls: ['ws://a/ws'],
      WebSocket: FakeSocket,
      token: mint,
      minBackoffMs: 1000,
      maxBackoffMs: 60_000,
    });
    const authed: number[] = [];
    client.on('authed', ({ exp }) => authed.push(exp));
    client.subscribe({});
    await vi.advanceTimersByTimeAsync(0);
    const a = last();
    expect(new URL(a.url).searchParams.get('token')).toBe(minted[0]);
    a.open();
    a.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: true });
    a.deliver({ type: 'live', sub: 's1', cursor: '9-0', recovered: false });
    const auths = () => a.sent.filter((f) => (f as { type: string }).type === 'auth');

    await vi.advanceTimersByTimeAsync(7_900);
    expect(auths()).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(auths()).toEqual([{ type: 'auth', token: minted[1] }]);
    a.deliver({ type: 'authed', exp: 1_800_000_018 });
    expect(authed).toEqual([1_800_000_018]);
    // The next one is due at 80 % of the new token's ten seconds.
    await vi.advanceTimersByTimeAsync(8_000);
    expect(auths()).toHaveLength(2);
    expect(client.state).toBe('connected');
    expect(FakeSocket.all).toHaveLength(1);

    a.drop(4401);
    // A first reconnect waits at most the minimum backoff.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeSocket.all).toHaveLength(2);
    const b = last();
    expect(new URL(b.url).searchParams.get('token')).toBe(minted[3]);
    b.open();
    expect(b.sent).toEqual([{ type: 'subscribe', sub: 's1', filter: {}, cursor: '9-0' }]);
    client.close();
  });

  it('keeps asking a failing token provider while the socket lasts, without sending a stale token', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    FakeSocket.all = [];
    let failing = false;
    let calls = 0;
    const token = () => {
      calls++;
      if (failing) throw new Error('issuer down');
      const claims = { role: 'staff', exp: Math.floor(Date.now() / 1000) + 10 };
      return `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;
    };
    const client = new OrdersClient({ urls: ['ws://a/ws'], WebSocket: FakeSocket, token, minBackoffMs: 100 });
    const errors: string[] = [];
    client.on('error', ({ code }) => errors.push(code));
    await vi.advanceTimersByTimeAsync(0);
    const a = last();
    a.open();
    failing = true;
    await vi.advanceTimersByTimeAsync(8_000);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(new Set(errors)).toEqual(new Set(['token_failed']));
    expect(a.sent.filter((f) => (f as { type: string }).type === 'auth')).toEqual([]);
    failing = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(a.sent.filter((f) => (f as { type: string }).type === 'auth')).toHaveLength(1);
    client.close();
  });

  it('grows the backoff across repeated 4008/4429 closes and resets it only after a stable period', () => {
    vi.useFakeTimers();
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
    FakeSocket.all = [];
    const client = new OrdersClient({
      urls: ['ws://a/ws'],
      WebSocket: FakeSocket,
      minBackoffMs: 100,
      maxBackoffMs: 100_000,
      stableAfterMs: 10_000,
    });
    /** Welcomed, then closed with `code`: how long until the next attempt. */
    const delayAfter = (code: number, upFor = 0) => {
      last().open();
      vi.advanceTimersByTime(upFor);
      last().drop(code);
      const before = Date.now();
      const sockets = FakeSocket.all.length;
      vi.advanceTimersToNextTimer();
      expect(FakeSocket.all).toHaveLength(sockets + 1);
      return Date.now() - before;
    };
    try {
      // `welcome` each time, yet every close waits longer than the one before.
      expect([delayAfter(4008), delayAfter(4008), delayAfter(4429), delayAfter(4008, 9_000)]).toEqual([
        99, 199, 399, 799,
      ]);
      // Up for the stable period: the next failure starts from the shortest delay again.
      expect(delayAfter(4008, 10_000)).toBe(99);
      expect(delayAfter(4008)).toBe(199);
    } finally {
      random.mockRestore();
      client.close();
    }
  });

  it('[P47] pings every heartbeat interval and, after two silent intervals, drops the socket and reconnects', async () => {
    vi.useFakeTimers();
    try {
      const { client } = setup();
      const first = last();
      first.readyState = 1;
      first.deliver({ type: 'welcome', gateway: 'a', protocol: 1, heartbeatMs: 1_000 });
      const pings = () => first.sent.filter((f) => (f as { type: string }).type === 'ping').length;

      await vi.advanceTimersByTimeAsync(1_000);
      expect(pings()).toBe(1);
      // An answer keeps it alive: no reconnect however long, as long as something arrives.
      for (let i = 0; i < 5; i++) {
        first.deliver({ type: 'pong' });
        await vi.advanceTimersByTimeAsync(1_000);
      }
      expect(FakeSocket.all).toHaveLength(1);
      expect(pings()).toBe(6);

      // Then silence: after two intervals (plus the slack) it gives the socket up and opens another.
      await vi.advanceTimersByTimeAsync(4_000);
      expect(first.readyState).toBe(3);
      expect(FakeSocket.all.length).toBeGreaterThan(1);
      client.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
