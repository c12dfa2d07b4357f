import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/node-server.ts';
import { untilDispatched } from './support/dispatched.ts';
import type { FakeWorker } from './support/fake-worker.ts';
import { createFakeWorker } from './support/fake-worker.ts';
import { is, openRaw } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { until } from './support/wait.ts';

describe('wire protocol against real Redis and PostgreSQL', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  let worker: FakeWorker;

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('proto-a');
    worker = createFakeWorker(h.redis, h.keys, h.db.sql);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('serves health, readiness and metrics', async () => {
    const base = `http://127.0.0.1:${gw.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // Ready once the read loop has drained the stream's backlog, which on a loaded machine can
    // come a moment after the listener opened.
    await until(
      async () => (await fetch(`${base}/readyz`)).status === 200,
      'the gateway to report ready',
      15_000,
    );
    expect(await (await fetch(`${base}/readyz`)).text()).toBe('ready');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('gateway_connections');
    expect(metrics).toContain('gateway_stream_lag');
  });

  it('[P6][P38][P40] welcomes, answers ping, and rejects bad frames without closing', async () => {
    const s = await openRaw(gw.url);
    const welcome = await s.next(is('welcome'));
    expect(welcome).toMatchObject({ gateway: 'proto-a', protocol: 1 });
    s.sendText('not json');
    expect(await s.next(is('error'))).toMatchObject({ code: 'bad_request' });
    s.send({ type: 'subscribe', sub: 'x', filter: { status: ['nope'] } });
    expect(await s.next(is('error'))).toMatchObject({ code: 'bad_request', sub: 'x' });
    s.send({ type: 'subscribe', sub: 'y', cursor: 'garbage' });
    expect(await s.next(is('error'))).toMatchObject({ code: 'bad_request', sub: 'y' });
    s.send({ type: 'launch' });
    expect(await s.next(is('error'))).toMatchObject({ code: 'bad_request' });
    s.send({ type: 'ping' });
    await s.next(is('pong'));
    s.send({ type: 'unsubscribe', sub: 'missing' });
    expect(await s.next(is('error'))).toMatchObject({ code: 'bad_request', sub: 'missing' });
    s.close();
  });

  it('[P16] sends a chunked snapshot, then live changes with exact effects', async () => {
    for (let i = 0; i < 7; i++) await worker.insert('Alice', 'pending');
    await worker.insert('Bob', 'pending');
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    s.send({ type: 'subscribe', sub: 'a', filter: { customer: 'Alice', status: ['pending'] } });
    const rows = [];
    for (;;) {
      const chunk = await s.next(is('snapshot', 'a'));
      rows.push(...chunk.rows);
      if (chunk.done) break;
    }
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.customerName === 'Alice')).toBe(true);
    await s.next(is('live', 'a'));

    const first = rows[0];
    if (first === undefined) throw new Error('no rows');
    await worker.update(first.id, { status: 'paid' });
    expect(await s.next(is('change', 'a'))).toMatchObject({
      op: 'update',
      effect: 'remove',
      row: { id: first.id },
    });
    await worker.update(first.id, { status: 'pending' });
    expect(await s.next(is('change', 'a'))).toMatchObject({
      op: 'update',
      effect: 'upsert',
      row: { version: 3 },
    });
    const bob = await worker.insert('Bob', 'pending');
    const alice = await worker.insert('Alice', 'pending');
    const change = await s.next(is('change', 'a'));
    expect(change).toMatchObject({ op: 'insert', effect: 'upsert', row: { id: alice.id } });
    expect(change.row.id).not.toBe(bob.id);
    await worker.remove(alice.id);
    expect(await s.next(is('change', 'a'))).toMatchObject({ op: 'delete', effect: 'remove' });
    s.close();
  });

  it('[P17][P18][P19] resumes from a cursor without a snapshot, and resets when history was trimmed past it', async () => {
    expectFaults({ faults: ['trimmed_history'], sub: 'r' });
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    s.send({ type: 'subscribe', sub: 'r', filter: { customer: 'Carol' } });
    const snap = await s.next(is('snapshot', 'r'));
    const live = await s.next(is('live', 'r'));
    expect(live.recovered).toBe(false);
    s.close();
    const c1 = await worker.insert('Carol');
    const c2 = await worker.insert('Carol');

    const resumed = await openRaw(gw.url);
    await resumed.next(is('welcome'));
    resumed.send({ type: 'subscribe', sub: 'r', filter: { customer: 'Carol' }, cursor: live.cursor });
    const got = [await resumed.next(is('change', 'r')), await resumed.next(is('change', 'r'))];
    expect(got.map((c) => c.row.id)).toEqual([c1.id, c2.id]);
    expect((await resumed.next(is('live', 'r'))).recovered).toBe(true);
    expect(resumed.frames.some((f) => f.type === 'snapshot')).toBe(false);
    resumed.close();

    // Trim everything: the old cursor cannot be completed from history any more.
    await worker.insert('Carol');
    await h.redis.xTrim(h.keys.history, 'MAXLEN', 0);
    const stale = await openRaw(gw.url);
    await stale.next(is('welcome'));
    stale.send({ type: 'subscribe', sub: 'r', filter: { customer: 'Carol' }, cursor: snap.cursor });
    expect(await stale.next(is('reset', 'r'))).toMatchObject({ reason: 'cursor_expired' });
    const fresh = await stale.next(is('snapshot', 'r'));
    expect(fresh.rows).toHaveLength(3);
    await stale.next(is('live', 'r'));
    stale.close();
  });

  it('[P9] reports live positions in pong, so quiet subscriptions keep fresh cursors', async () => {
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    s.send({ type: 'subscribe', sub: 'quiet', filter: { customer: 'Nobody' } });
    const live = await s.next(is('live', 'quiet'));
    await worker.insert('Somebody');
    const head = await h.redis.xRevRange(h.keys.history, '+', '-', { COUNT: 1 });
    const newestId = head?.[0]?.id;
    const epoch = await h.redis.get(h.keys.epoch);
    if (newestId === undefined || epoch === null) throw new Error('empty history');
    const newest = `${epoch}.${newestId}`;
    expect(newest).not.toBe(live.cursor);
    // Once the gateway has handed the change out, its dispatch clock is there: the next pong says so.
    await untilDispatched(h.redis, h.keys.gatewayStream(gw.gatewayId), newestId);
    s.send({ type: 'ping' });
    expect((await s.next(is('pong'))).cursors).toEqual({ quiet: newest });
    expect(s.frames.some((f) => f.type === 'change')).toBe(false);
    s.close();
  });

  it('[P43] refuses sockets while draining and closes open ones with 1012', async () => {
    const other = await h.start('proto-b');
    const s = await openRaw(other.url);
    await s.next(is('welcome'));
    const closing = s.waitClose();
    await other.shutdown();
    expect(await closing).toMatchObject({ code: 1012 });
    expect(await h.redis.zScore(h.keys.gateways, 'proto-b')).toBeNull();
  });
});
