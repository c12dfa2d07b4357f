import type { StreamChange } from '@orders/contract/redis';
import type { Order } from '@orders/drizzle';
import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/node-server.ts';
import { createContractWriter, createFakeWorker, type FakeWorker } from './support/fake-worker.ts';
import { viewOf } from './support/frame-view.ts';
import { is, openRaw, type RawSocket } from './support/raw-socket.ts';
import { diffRows } from './support/recorder.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { lockOrders } from './support/table-lock.ts';
import { until } from './support/wait.ts';

/** A change for an order that exists only in the stream, committed at `committedAt`. */
function streamOnlyInsert(id: number, customer: string, committedAt: number): StreamChange {
  const at = new Date(committedAt).toISOString();
  const row: Order = {
    id,
    customerName: customer,
    productName: 'stream-only',
    status: 'pending',
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  return {
    op: 'insert',
    row,
    before: null,
    committedAt,
    lsn: String(id),
    kafka: { topic: 'test', partition: 0, offset: String(id), timestamp: committedAt },
  };
}

describe('subscriptions while they load, and what they remember after', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  let worker: FakeWorker;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('load-a');
    worker = createFakeWorker(h.redis, h.keys, h.db.sql);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await h?.close();
  });

  const open = async () => {
    const s = await openRaw(gw.url);
    sockets.push(s);
    await s.next(is('welcome'));
    return s;
  };
  const subscription = (sub: string) => {
    for (const conn of gw.hub.connections) {
      const found = conn.subs.get(sub);
      if (found !== undefined) return found;
    }
    return undefined;
  };

  it('answers a reset marker that arrives while the snapshot is loading with reset and a new snapshot', async () => {
    expectFaults({ faults: ['truncate_marker'] });
    for (let i = 0; i < 3; i++) await worker.insert('Loader');
    const s = await open();
    // An exclusive lock holds the snapshot query, and with it the subscription, in loading.
    const lock = await lockOrders(h.db.sql);
    try {
      s.send({ type: 'subscribe', sub: 'load', filter: { customer: 'Loader' } });
      await until(() => subscription('load')?.state.kind === 'loading', 'the subscription to start loading');
      const marker = await createContractWriter(h.redis, h.keys).marker('truncate');
      // Handed to the subscription once the gateway's group has delivered and acknowledged it.
      await until(async () => {
        const [group] = (await h.redis.xInfoGroups(h.keys.gatewayStream('load-a'))) as unknown as {
          'last-delivered-id': string;
          pending: number;
        }[];
        return group?.['last-delivered-id'] === marker && Number(group.pending) === 0;
      }, 'the gateway to read the marker');
      expect(s.frames.some((f) => f.type === 'live')).toBe(false);
    } finally {
      await lock.release();
    }
    expect(await s.next(is('reset', 'load'))).toMatchObject({ reason: 'truncate' });
    for (;;) if ((await s.next(is('snapshot', 'load'))).done) break;
    expect((await s.next(is('live', 'load'))).recovered).toBe(false);
    expect(
      diffRows(viewOf(s.frames, 'load').rows, await worker.rows((o) => o.customerName === 'Loader')),
    ).toBe(undefined);
  });

  it('forgets snapshot versions once a newer change passes, and all of them once changes are a minute newer', async () => {
    const rows = [];
    for (let i = 0; i < 3; i++) rows.push(await worker.insert('Expiry'));
    const s = await open();
    s.send({ type: 'subscribe', sub: 'exp', filter: { customer: 'Expiry' } });
    await s.next(is('live', 'exp'));
    const sub = subscription('exp');
    if (sub === undefined) throw new Error('no subscription');
    expect(sub.known.size).toBe(3);

    const first = rows[0];
    if (first === undefined) throw new Error('no rows');
    const updated = await worker.update(first.id, { status: 'paid' });
    await until(
      () =>
        s.frames.some(
          (f) => f.type === 'change' && f.row.id === first.id && f.row.version === updated.version,
        ),
      'the update',
    );
    expect(sub.known.size).toBe(2);

    // A change committed now leaves the other two; one committed past the grace drops them.
    const writer = createContractWriter(h.redis, h.keys);
    await writer.change(streamOnlyInsert(900_001, 'Expiry', Date.now()));
    await until(
      () => s.frames.some((f) => f.type === 'change' && f.row.id === 900_001),
      'the first stream-only insert',
    );
    expect(sub.known.size).toBe(2);
    await writer.change(streamOnlyInsert(900_002, 'Expiry', Date.now() + 61_000));
    await until(
      () => s.frames.some((f) => f.type === 'change' && f.row.id === 900_002),
      'the later stream-only insert',
    );
    expect(sub.known.size).toBe(0);
  });
});
