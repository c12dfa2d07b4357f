/**
 * End to end on the real stack: SQL → Debezium → Kafka → worker → Redis → gateway
 * processes → the TypeScript client.
 */

import type { OrdersClient, SubscriptionFilter } from '@orders/client';
import { GATEWAY_GROUP } from '@orders/contract/redis';
import type { GatewayProcess } from '@orders/test-harness';
import { expectFaults } from '@orders/test-harness';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientPool, converge as convergeOn, expectClean } from './support/convergence.ts';
import { createStack, type Stack } from './support/pipeline.ts';
import { recordSubscription } from './support/recorder.ts';
import { staffToken } from './support/tokens.ts';
import { startTraffic } from './support/traffic.ts';
import { until } from './support/wait.ts';

describe('end to end through Debezium, Kafka and the worker', () => {
  let stack: Stack;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const clients = clientPool({ token: staffToken, minBackoffMs: 100, maxBackoffMs: 1000 });
  const client = clients.open;
  const filters: SubscriptionFilter[] = [{}, { status: ['pending', 'paid'] }, { customer: 'Alice' }];
  const converge = (c: OrdersClient, fs: SubscriptionFilter[], timeoutMs = 60_000) =>
    convergeOn(c, fs, (match) => stack.writer.rows(match), timeoutMs);

  beforeAll(async () => {
    stack = await createStack();
    [a, b] = await Promise.all([stack.startGateway('e2e-a'), stack.startGateway('e2e-b')]);
    for (let i = 0; i < 40; i++)
      await stack.writer.insert(['Alice', 'Bob', 'Carol', 'Dave'][i % 4] ?? 'Alice');
  });
  // Each test's clients end with it: a client left connected would carry its cursor, and the
  // faults the test declared (a trimmed history), into the next test's failovers.
  afterEach(() => clients.closeAll());
  afterAll(async () => {
    clients.closeAll();
    await stack?.close();
  });

  it('[P35] snapshot + live: subscribers joining under continuous writes converge, versions strictly increasing', async () => {
    const traffic = startTraffic(stack.writer, { concurrency: 2, pauseMs: 5 });
    const joined = [];
    for (let i = 0; i < 6; i++) {
      await traffic.more(15);
      const c = client(i % 2 === 0 ? [a.url, b.url] : [b.url, a.url]);
      joined.push({ c, recs: filters.map((f) => recordSubscription(c.subscribe(f))) });
    }
    await Promise.all(joined.map(({ c }) => c.ready()));
    await traffic.more(40);
    expect(await traffic.stop()).toBeGreaterThan(100);
    for (const { c, recs } of joined) {
      await converge(c, filters);
      expectClean(recs, { snapshots: 1 });
    }
  });

  it('[P36][P11] filter moves give upsert and remove; other subscribers are unaffected', async () => {
    const c = client([a.url]);
    const pending = c.subscribe({ status: ['pending'], customer: 'Zoe' });
    const paid = c.subscribe({ status: ['paid'], customer: 'Zoe' });
    const other = c.subscribe({ customer: 'Yann' });
    await c.ready();
    const effects: string[] = [];
    pending.on('change', ({ change }) => effects.push(`pending:${change.op}:${change.effect}`));
    paid.on('change', ({ change }) => effects.push(`paid:${change.op}:${change.effect}`));
    other.on('change', ({ change }) => effects.push(`other:${change.effect}`));
    const seen: { row: { createdAt: string; updatedAt: string }; committedAt: number }[] = [];
    for (const sub of [pending, paid]) sub.on('change', ({ change }) => seen.push(change));
    const order = await stack.writer.insert('Zoe', 'pending');
    await stack.writer.update(order.id, { status: 'paid' });
    await stack.writer.update(order.id, { status: 'pending' });
    await until(() => effects.length >= 5, 'five effects', 30_000);
    // A later change of the same order (same Kafka partition, so after the three in the
    // gateway's stream) on the same socket: once its frame is here, any further effect of the
    // three changes would be too.
    let sentinel = false;
    pending.on('change', ({ change }) => {
      if (change.row.status === 'shipped') sentinel = true;
    });
    await stack.writer.update(order.id, { status: 'shipped' });
    await until(() => sentinel, 'the later change', 30_000);
    expect(effects).toEqual([
      'pending:insert:upsert',
      'pending:update:remove',
      'paid:update:upsert',
      'pending:update:upsert',
      'paid:update:remove',
      'pending:update:remove',
    ]);
    // Through Debezium and the worker, as from the snapshot: ISO timestamps in UTC with
    // milliseconds, and the commit time in whole milliseconds.
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    expect(seen).toHaveLength(6);
    for (const change of seen) {
      expect([change.row.createdAt, change.row.updatedAt]).toEqual([
        expect.stringMatching(iso),
        expect.stringMatching(iso),
      ]);
      expect(Number.isInteger(change.committedAt)).toBe(true);
    }
  });

  it('[P1] reconnecting to the same and to the other gateway resumes without a snapshot', async () => {
    const same = client([a.url]);
    const other = client([a.url, b.url]);
    const recs = [same, other].map((c) => filters.map((f) => recordSubscription(c.subscribe(f))));
    await Promise.all([same.ready(), other.ready()]);
    const traffic = startTraffic(stack.writer, { concurrency: 2, pauseMs: 5 });
    await traffic.more(20);
    // Graceful restart of A (SIGTERM → 1012): `other` fails over to B, `same` waits for A.
    await a.kill('SIGTERM');
    await until(() => other.gateway === 'e2e-b', 'failover to B', 30_000);
    await traffic.more(20);
    a = await stack.startGateway('e2e-a', a.port);
    await until(() => same.gateway === 'e2e-a', 'reconnect to A', 30_000);
    await traffic.stop();
    await Promise.all([same.ready(), other.ready()]);
    await converge(same, filters);
    await converge(other, filters);
    expectClean(recs.flat(), { snapshots: 1, recovered: 1 });
  });

  it('[P18][P19] with history trimmed past its cursor, a client gets reset and a snapshot and converges', async () => {
    expectFaults({ faults: ['trimmed_history'] });
    const c = client([b.url]);
    const sub = c.subscribe({ customer: 'Bob' });
    const rec = recordSubscription(sub);
    const resets: string[] = [];
    sub.on('reset', ({ reason }) => resets.push(reason));
    await c.ready();
    await b.kill('SIGTERM');
    // More changes after the cursor than the trim keeps, counted rather than timed: once they
    // are all in history, the cursor's own entry is surely trimmed.
    const [head] = (await stack.redis.xRevRange(stack.keys.history, '+', '-', { COUNT: 1 })) ?? [];
    if (head === undefined) throw new Error('empty history');
    for (let i = 0; i < 10; i++) await stack.writer.insert('Bob');
    await until(
      async () => ((await stack.redis.xRange(stack.keys.history, `(${head.id}`, '+')) ?? []).length >= 10,
      'the ten changes in history',
      30_000,
    );
    await stack.redis.xTrim(stack.keys.history, 'MAXLEN', 3);
    b = await stack.startGateway('e2e-b', b.port);
    await until(() => resets.length === 1 && sub.live, 'reset and live', 30_000);
    expect(resets).toEqual(['cursor_expired']);
    expect(rec.snapshots).toBe(2);
    await converge(c, [{ customer: 'Bob' }]);
    expect(rec.violations).toEqual([]);
  });

  it('kill -9 under load: clients fail over and converge; a restart with the same id drains its pending entries', async () => {
    const group = [0, 1, 2, 3].map(() => client([a.url, b.url]));
    const recs = group.map((c) => filters.map((f) => recordSubscription(c.subscribe(f))));
    await Promise.all(group.map((c) => c.ready()));
    expect(group.every((c) => c.gateway === 'e2e-a')).toBe(true);
    const traffic = startTraffic(stack.writer, { concurrency: 3 });
    await traffic.more(50);
    await a.kill('SIGKILL');
    await until(() => group.every((c) => c.gateway === 'e2e-b'), 'failover to B', 30_000);
    await traffic.more(50);
    await traffic.stop();
    for (const c of group) await converge(c, filters);
    for (const rec of recs.flat()) expect(rec.violations).toEqual([]);

    // While A is down (within the worker's TTL) entries keep arriving on its stream; read
    // some as A without acknowledging, as a crash between read and XACK would leave them.
    const stream = stack.keys.gatewayStream('e2e-a');
    await stack.writer.insert('Carol');
    await until(
      async () => (await stack.redis.xLen(stream)) > 0,
      'entries on the dead gateway stream',
      30_000,
    );
    await stack.redis.xReadGroup(GATEWAY_GROUP, 'e2e-a', { key: stream, id: '>' }, { COUNT: 5 });
    const pendingBefore = await stack.redis.xPending(stream, GATEWAY_GROUP);
    expect(Number(pendingBefore.pending)).toBeGreaterThan(0);
    a = await stack.startGateway('e2e-a', a.port);
    await until(
      async () => Number((await stack.redis.xPending(stream, GATEWAY_GROUP)).pending) === 0,
      'pending entries drained',
      30_000,
    );
  });
});
