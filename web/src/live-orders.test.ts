import { orderAt } from '@orders/contract/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionView } from './connection-view.ts';
import { startLiveOrders } from './live-orders.ts';

/** A socket the test answers as the gateway would. */
class Socket {
  static all: Socket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    Socket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open(gateway: string) {
    this.readyState = 1;
    this.deliver({ type: 'welcome', gateway, protocol: 1, heartbeatMs: 60_000 });
  }
  deliver(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const socket = async (count: number) => {
  await vi.waitFor(() => expect(Socket.all).toHaveLength(count), { timeout: 3000 });
  const last = Socket.all.at(-1);
  if (last === undefined) throw new Error('no socket');
  return last;
};

function start() {
  const views: ConnectionView[] = [];
  const notices: string[] = [];
  const live = startLiveOrders({
    config: {
      gatewayUrls: ['ws://a:1/ws', 'ws://b:1/ws'],
      tokenUrl: 'http://t:1/token',
      batchChanges: false,
    },
    filter: {},
    handlers: {
      connection: (view) => views.push(view),
      snapshot: () => {},
      change: () => {},
      notice: (text, tone) => notices.push(`${tone}: ${text}`),
    },
  });
  const recovery = () => {
    const view = views.at(-1);
    return view?.state === 'connected' ? view.recovery : view?.state;
  };
  return { live, views, notices, recovery };
}

describe('the live-orders adapter', () => {
  beforeEach(() => {
    Socket.all = [];
    vi.stubGlobal('WebSocket', Socket);
    vi.stubGlobal('fetch', () => Promise.reject(new Error('no token service')));
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('shows how the view came back after a lost connection and after a reset, from the subscription state', async () => {
    const { live, views, notices, recovery } = start();
    const a = await socket(1);
    a.open('ga');
    expect(recovery()).toBe('syncing');
    a.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: true });
    a.deliver({ type: 'live', sub: 's1', cursor: '5-0', recovered: false });
    expect(recovery()).toBe('fresh');
    expect(notices).toEqual([]);

    a.deliver({ type: 'error', code: 'slow_consumer', message: 'too slow' });
    const lostAt = Date.now();
    a.drop(4008);
    expect(notices).toEqual(['warn: Lost a:1; reconnecting']);
    const waiting = views.at(-1);
    expect(waiting).toMatchObject({
      state: 'reconnecting',
      phase: 'waiting',
      attempt: 1,
      reason: 'slow_consumer: too slow',
    });
    expect(waiting?.state === 'reconnecting' && waiting.since).toBeGreaterThanOrEqual(lostAt);

    const b = await socket(2);
    expect(views.at(-1)).toMatchObject({
      state: 'reconnecting',
      phase: 'connecting',
      since: waiting?.state === 'reconnecting' && waiting.since,
    });
    b.open('gb');
    expect(recovery()).toBe('syncing');
    b.deliver({ type: 'live', sub: 's1', cursor: '6-0', recovered: true });
    expect(recovery()).toBe('resumed');
    expect(notices.at(-1)).toMatch(/^info: Resumed on gb after \d+\.\d s, nothing missed$/);

    b.deliver({ type: 'reset', sub: 's1', reason: 'truncate' });
    expect(notices.at(-1)).toBe('warn: Reset: the orders table was emptied; loading a fresh snapshot');
    b.deliver({ type: 'snapshot', sub: 's1', rows: [], cursor: '9-0', done: true });
    b.deliver({ type: 'live', sub: 's1', cursor: '9-0', recovered: false });
    expect(recovery()).toBe('reset');
    expect(notices.at(-1)).toBe('info: Reset on gb, fresh snapshot loaded');

    live.setFilter({ status: ['paid'] });
    expect(recovery()).toBe('syncing');
    b.deliver({ type: 'snapshot', sub: 's2', rows: [], cursor: '9-0', done: true });
    b.deliver({ type: 'live', sub: 's2', cursor: '9-0', recovered: false });
    expect(recovery()).toBe('fresh');
    expect(notices).toHaveLength(4);

    b.drop(1006);
    expect(views.at(-1)).toMatchObject({ state: 'reconnecting', reason: 'b:1 unreachable' });
    live.close();
    expect(views.at(-1)).toEqual({ state: 'closed', reason: 'Closed' });
  });

  it('says nothing on the first live, even a resumed one', async () => {
    const { live, notices, recovery, views } = start();
    const a = await socket(1);
    a.drop(1006);
    expect(views.at(-1)).toMatchObject({ state: 'reconnecting', reason: 'a:1 unreachable' });
    const b = await socket(2);
    b.open('gb');
    b.deliver({ type: 'snapshot', sub: 's1', rows: [orderAt(1, 1)], cursor: '5-0', done: true });
    b.drop(1012);
    expect(views.at(-1)).toMatchObject({ state: 'reconnecting', reason: 'b:1 closed the connection (1012)' });
    const c = await socket(3);
    c.open('ga');
    expect(c.sent).toEqual([{ type: 'subscribe', sub: 's1', filter: {}, cursor: '5-0' }]);
    c.deliver({ type: 'live', sub: 's1', cursor: '5-0', recovered: true });
    expect(recovery()).toBe('resumed');
    expect(notices).toEqual(['warn: Lost b:1; reconnecting']);
    live.close();
  });
});
