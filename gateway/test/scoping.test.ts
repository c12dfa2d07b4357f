import { type Order, orderStatuses } from '@orders/drizzle';
import { describe, expect, it } from 'vitest';
import { useCustomerGateway } from './support/customer-gateway.ts';
import type { FakeWorker } from './support/fake-worker.ts';
import { is } from './support/raw-socket.ts';
import { diffViews, watchScopedView } from './support/scoped-view.ts';
import { until } from './support/wait.ts';

const secret = 'scoping-suite-secret-with-enough-characters';
const customers = ['Alice', 'Bob', 'Carol', 'Dave'] as const;
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

/** Random writes with many reassignments; returns how many of each kind were made. */
async function churn(worker: FakeWorker, ids: number[], count: number) {
  const made = { inserts: 0, updates: 0, reassignments: 0, deletes: 0 };
  const one = async () => {
    const roll = Math.random();
    if (roll < 0.12 || ids.length < 20) {
      ids.push((await worker.insert(pick(customers), pick(orderStatuses))).id);
      made.inserts++;
    } else if (roll < 0.2) {
      const [id] = ids.splice(Math.floor(Math.random() * ids.length), 1);
      if (id !== undefined) await worker.remove(id);
      made.deletes++;
    } else if (roll < 0.6) {
      await worker.update(pick(ids), { customer: pick(customers) });
      made.reassignments++;
    } else {
      await worker.update(pick(ids), { status: pick(orderStatuses) });
      made.updates++;
    }
  };
  // Sequential batches of four writers on distinct orders keep deletes and updates apart.
  for (let done = 0; done < count; done += 4) await Promise.all([one(), one(), one(), one()]);
  return made;
}

describe('customer tokens see only their own orders', () => {
  const suite = useCustomerGateway('scope-a', secret);
  const { open } = suite;

  it('across snapshot, replay and 2,000+ live changes with reassignments: zero leaks, exact views', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 80; i++)
      ids.push((await suite.worker.insert(customers[i % 4] as string, pick(orderStatuses))).id);

    // Live subscribers, each with a different way of asking.
    const alice = await open('Alice');
    const aliceView = watchScopedView(alice.ws, 'a', 'Alice');
    alice.send({ type: 'subscribe', sub: 'a' });
    const bob = await open('Bob');
    const bobView = watchScopedView(bob.ws, 'b', 'Bob');
    bob.send({ type: 'subscribe', sub: 'b', filter: { status: ['pending', 'paid'] } });
    const carol = await open('Carol');
    const carolView = watchScopedView(carol.ws, 'c', 'Carol');
    carol.send({ type: 'subscribe', sub: 'c', filter: { customer: 'Carol' } });
    // Dave asks for ids of everyone; only his own may come back.
    const dave = await open('Dave');
    const daveView = watchScopedView(dave.ws, 'd', 'Dave');
    const daveIds = new Set(ids.slice(0, 40));
    dave.send({ type: 'subscribe', sub: 'd', filter: { ids: [...daveIds] } });
    for (const [s, sub] of [
      [alice, 'a'],
      [bob, 'b'],
      [carol, 'c'],
      [dave, 'd'],
    ] as const) {
      await s.next(is('live', sub));
    }

    // A subscriber that leaves and comes back from its cursor gets the gap by replay.
    const replayer = await open('Alice');
    const replayed = watchScopedView(replayer.ws, 'r', 'Alice');
    replayer.send({ type: 'subscribe', sub: 'r' });
    await replayer.next(is('live', 'r'));
    const cursor = replayed.cursor;
    replayer.close();

    const first = await churn(suite.worker, ids, 800);

    const back = await open('Alice');
    const resumed = watchScopedView(back.ws, 'r', 'Alice');
    for (const [id, row] of replayed.rows) resumed.rows.set(id, row);
    back.send({ type: 'subscribe', sub: 'r', cursor });
    await back.next(is('live', 'r'));
    expect(resumed.recovered).toBe(1);
    expect(resumed.snapshotRows).toBe(0);
    expect(resumed.changes).toBeGreaterThan(0);

    const second = await churn(suite.worker, ids, 1400);
    const total = {
      changes:
        first.inserts + first.updates + first.reassignments + first.deletes + second.inserts + second.updates,
      reassignments: first.reassignments + second.reassignments,
    };
    total.changes += second.reassignments + second.deletes;
    expect(total.changes).toBeGreaterThanOrEqual(2000);
    expect(total.reassignments).toBeGreaterThan(500);

    const mine = (customer: string, extra: (o: Order) => boolean = () => true) =>
      suite.worker.rows((o) => o.customerName === customer && extra(o));
    const expectations = [
      [aliceView, () => mine('Alice')],
      [resumed, () => mine('Alice')],
      [bobView, () => mine('Bob', (o) => o.status === 'pending' || o.status === 'paid')],
      [carolView, () => mine('Carol')],
      [daveView, () => mine('Dave', (o) => daveIds.has(o.id))],
    ] as const;
    for (const [index, [view, want]] of expectations.entries()) {
      let diff: string | undefined;
      await until(async () => {
        diff = diffViews(view.rows, await want());
        return diff === undefined;
      }, 'a scoped view to converge').catch((error: unknown) => {
        throw new Error(`view ${index}: ${diff}`, { cause: error });
      });
    }
    // Dave's ids filter is ANDed with his identity, not replaced by it.
    for (const id of daveView.rows.keys()) expect(daveIds.has(id)).toBe(true);

    const views = [aliceView, bobView, carolView, daveView, replayed, resumed];
    const leaks = views.flatMap((v) => v.leaks);
    const frames = views.reduce((n, v) => n + v.snapshotRows + v.changes, 0);
    const removes = views.reduce((n, v) => n + v.removes, 0);
    // Reassignments away from a customer arrive as removes, so there must be plenty.
    expect(removes).toBeGreaterThan(100);
    expect(frames).toBeGreaterThan(1000);
    expect(leaks).toEqual([]);
  });
});
