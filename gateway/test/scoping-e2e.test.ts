import { type Order, orderStatuses } from '@orders/drizzle';
import type { GatewayProcess } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from '../src/env.ts';
import { createStack, type Stack } from './support/pipeline.ts';
import { is, RawSocketPool } from './support/raw-socket.ts';
import { diffViews, watchScopedView } from './support/scoped-view.ts';
import { until } from './support/wait.ts';

const customers = ['Alice', 'Bob', 'Carol', 'Dave'] as const;
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

describe('customer scoping end to end through Debezium, Kafka and the worker', () => {
  let stack: Stack;
  let gw: GatewayProcess;
  const sockets = new RawSocketPool();
  const open = (customer: string) => sockets.openCustomer(gw.url, DEV_JWT_SECRET, customer);

  beforeAll(async () => {
    stack = await createStack();
    gw = await stack.startGateway('scope-e2e');
  });
  afterAll(async () => {
    sockets.closeAll();
    await stack?.close();
  });

  it('2,000 real changes with reassignments: no customer sees another customer’s order', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 60; i++) ids.push((await stack.writer.insert(customers[i % 4] as string)).id);

    const views = [];
    for (const customer of customers) {
      const s = await open(customer);
      const view = watchScopedView(s.ws, 'v', customer);
      s.send({ type: 'subscribe', sub: 'v' });
      await s.next(is('live', 'v'), 30_000);
      views.push({ customer, view });
    }
    const away = await open('Alice');
    const before = watchScopedView(away.ws, 'r', 'Alice');
    away.send({ type: 'subscribe', sub: 'r' });
    await away.next(is('live', 'r'), 30_000);

    let made = 0;
    let reassigned = 0;
    const one = async (id: number) => {
      if (Math.random() < 0.5) {
        await stack.writer.update(id, { customer: pick(customers) });
        reassigned++;
      } else {
        await stack.writer.update(id, { status: pick(orderStatuses) });
      }
      made++;
    };
    const churn = async (count: number) => {
      for (let done = 0; done < count; done += 4) {
        const batch = [...ids].sort(() => Math.random() - 0.5).slice(0, 4);
        await Promise.all(batch.map(one));
      }
    };

    await churn(600);
    away.close();
    await churn(600);
    // Back from its cursor: the gap is replayed from history, scoped the same way.
    const back = await open('Alice');
    const resumed = watchScopedView(back.ws, 'r', 'Alice');
    for (const [id, row] of before.rows) resumed.rows.set(id, row);
    back.send({ type: 'subscribe', sub: 'r', cursor: before.cursor });
    await back.next(is('live', 'r'), 30_000);
    expect(resumed.recovered).toBe(1);
    await churn(800);
    expect(made).toBeGreaterThanOrEqual(2000);
    expect(reassigned).toBeGreaterThan(800);

    const all = [...views, { customer: 'Alice', view: resumed }];
    for (const { customer, view } of all) {
      let diff: string | undefined;
      await until(
        async () => {
          diff = diffViews(view.rows, await stack.writer.rows((o: Order) => o.customerName === customer));
          return diff === undefined;
        },
        `${customer}'s view to converge`,
        60_000,
      ).catch((error: unknown) => {
        throw new Error(`${customer}: ${diff}`, { cause: error });
      });
    }
    const leaks = [...all.map((a) => a.view), before].flatMap((v) => v.leaks);
    const frames = all.reduce((n, a) => n + a.view.changes, 0);
    expect(frames).toBeGreaterThan(1000);
    expect(all.reduce((n, a) => n + a.view.removes, 0)).toBeGreaterThan(200);
    expect(leaks).toEqual([]);
  });
});
