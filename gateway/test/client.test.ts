import type { OrdersClient, SubscriptionFilter } from '@orders/client';
import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/node-server.ts';
import { clientPool, converge as convergeOn, expectClean } from './support/convergence.ts';
import { createFakeWorker, type FakeWorker } from './support/fake-worker.ts';
import { recordSubscription } from './support/recorder.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { startTraffic } from './support/traffic.ts';
import { until } from './support/wait.ts';

describe('client against two gateways (simulated worker output)', () => {
  let h: GatewayHarness;
  let a: RunningGateway;
  let b: RunningGateway;
  let worker: FakeWorker;
  const clients = clientPool({ minBackoffMs: 50, maxBackoffMs: 500 });
  const client = clients.open;
  const converge = (c: OrdersClient, filters: SubscriptionFilter[]) =>
    convergeOn(c, filters, (match) => worker.rows(match), 30_000);

  beforeAll(async () => {
    h = await createHarness();
    a = await h.start('client-a', { tuning: { snapshotChunk: 25 } });
    b = await h.start('client-b', { tuning: { snapshotChunk: 25 } });
    worker = createFakeWorker(h.redis, h.keys, h.db.sql);
    for (let i = 0; i < 60; i++) await worker.insert(['Alice', 'Bob', 'Carol', 'Dave'][i % 4] ?? 'Alice');
  });
  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  it('[P35] subscribers joining during continuous writes end with exactly the database rows, versions increasing', async () => {
    const traffic = startTraffic(worker, { concurrency: 3 });
    const filters: SubscriptionFilter[] = [{}, { status: ['pending', 'paid'] }, { customer: 'Alice' }];
    const joined: { c: OrdersClient; recs: ReturnType<typeof recordSubscription>[] }[] = [];
    for (let i = 0; i < 8; i++) {
      await traffic.more(8);
      const c = client(i % 2 === 0 ? [a.url, b.url] : [b.url, a.url]);
      const recs = filters.map((f) => recordSubscription(c.subscribe(f)));
      joined.push({ c, recs });
    }
    await Promise.all(joined.map(({ c }) => c.ready()));
    await traffic.more(30);
    const writes = await traffic.stop();
    expect(writes).toBeGreaterThan(50);
    for (const { c, recs } of joined) {
      await converge(c, filters);
      expectClean(recs, { snapshots: 1 });
    }
  });

  it('[P1][P17] resumes without a snapshot on the same gateway and on the other one, missing nothing', async () => {
    const filters: SubscriptionFilter[] = [{}, { status: ['shipped'] }];
    const same = client([a.url]);
    const other = client([a.url, b.url]);
    const recs = [same, other].map((c) => filters.map((f) => recordSubscription(c.subscribe(f))));
    await Promise.all([same.ready(), other.ready()]);
    expect(other.gateway).toBe('client-a');

    const traffic = startTraffic(worker, { concurrency: 2, pauseMs: 5 });
    await traffic.more(20);
    // Server-side drop of every socket on A: `same` comes back to A, `other` fails over to B.
    for (const conn of [...a.hub.connections]) conn.close(1012, 'going away, reconnect');
    await traffic.more(20);
    await until(() => same.state === 'connected' && other.state === 'connected', 'reconnects');
    await Promise.all([same.ready(), other.ready()]);
    expect(same.gateway).toBe('client-a');
    expect(other.gateway).toBe('client-b');
    await traffic.stop();
    await converge(same, filters);
    await converge(other, filters);
    expectClean(recs.flat(), { snapshots: 1, recovered: 1 });
  });

  it('[P18][P19] gets reset and a fresh snapshot when history was trimmed past its cursor', async () => {
    expectFaults({ faults: ['trimmed_history'] });
    const c3 = await h.start('client-c');
    const c = client([c3.url]);
    const sub = c.subscribe({ customer: 'Bob' });
    const rec = recordSubscription(sub);
    const resets: string[] = [];
    sub.on('reset', ({ reason }) => resets.push(reason));
    await c.ready();
    // The gateway goes away; the client keeps retrying its one URL while history moves on and is trimmed.
    await c3.shutdown();
    // More changes after the cursor than the trim keeps, counted rather than timed: the
    // cursor's own entry is surely trimmed.
    const [head] = (await h.redis.xRevRange(h.keys.history, '+', '-', { COUNT: 1 })) ?? [];
    if (head === undefined) throw new Error('empty history');
    for (let i = 0; i < 10; i++) await worker.insert('Bob');
    expect(await h.redis.xRange(h.keys.history, `(${head.id}`, '+')).toHaveLength(10);
    await h.redis.xTrim(h.keys.history, 'MAXLEN', 5);
    await h.start('client-c', { port: c3.port });
    await until(() => resets.length === 1 && sub.live, 'reset and live');
    expect(resets).toEqual(['cursor_expired']);
    expect(rec.snapshots).toBe(2);
    await converge(c, [{ customer: 'Bob' }]);
    expect(rec.violations).toEqual([]);
  });

  it('[P36] moves orders between subscribers exactly', async () => {
    const c = client([a.url]);
    const pending = c.subscribe({ status: ['pending'], customer: 'Zed' });
    const paid = c.subscribe({ status: ['paid'], customer: 'Zed' });
    const other = c.subscribe({ customer: 'Yves' });
    await c.ready();
    const effects: string[] = [];
    pending.on('change', ({ change }) => effects.push(`pending:${change.effect}`));
    paid.on('change', ({ change }) => effects.push(`paid:${change.effect}`));
    other.on('change', ({ change }) => effects.push(`other:${change.effect}`));
    const order = await worker.insert('Zed', 'pending');
    await worker.update(order.id, { status: 'paid' });
    await worker.update(order.id, { status: 'pending' });
    await until(() => effects.length >= 5, 'five effects');
    expect(pending.rows.get(order.id)?.version).toBe(3);
    expect(paid.rows.has(order.id)).toBe(false);
    // A later change of the same order follows the three in the gateway's stream, and all three
    // subscriptions share the socket: once its frame is here, any further effect of the three
    // changes (a late duplicate, a remove sent to a view that never held the order) is too.
    let sentinel = false;
    pending.on('change', ({ change }) => {
      if (change.row.status === 'shipped') sentinel = true;
    });
    await worker.update(order.id, { status: 'shipped' });
    await until(() => sentinel, 'the later change');
    expect(effects).toEqual([
      'pending:upsert',
      'pending:remove',
      'paid:upsert',
      'pending:upsert',
      'paid:remove',
      'pending:remove',
    ]);
  });
});
