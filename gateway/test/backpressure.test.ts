import type { Socket } from 'node:net';
import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import type { Connection } from '../src/hub/connection.ts';
import type { RunningGateway } from '../src/node-server.ts';
import { createFakeWorker, type FakeWorker } from './support/fake-worker.ts';
import { is, openRaw, type RawSocket } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { until } from './support/wait.ts';

/** Big rows fill a stalled socket's kernel buffers after a few dozen changes. */
const PRODUCT = 'p'.repeat(20_000);
const SOFT = 64 * 1024;
const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket;

/** The gateway side of the only socket on `gw`. */
function onlyConnection(gw: RunningGateway): Connection {
  const [conn, ...others] = [...gw.hub.connections];
  if (conn === undefined || others.length > 0)
    throw new Error(`expected one socket, have ${gw.hub.connections.size}`);
  return conn;
}

describe('backpressure on a socket that stops reading', () => {
  let h: GatewayHarness;
  let worker: FakeWorker;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    h = await createHarness();
    worker = createFakeWorker(h.redis, h.keys, h.db.sql);
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await h?.close();
  });

  /** A socket subscribed to `ids` that has stopped reading (its TCP socket is paused). */
  const stalled = async (gw: RunningGateway, ids: number[]) => {
    const s = await openRaw(gw.url);
    sockets.push(s);
    await s.next(is('welcome'));
    s.send({ type: 'subscribe', sub: 'v', filter: { ids } });
    await s.next(is('live', 'v'));
    socketOf(s.ws).pause();
    return s;
  };

  it('[P84][P91][P102] conflates changes held for a slow reader: fewer frames, versions and cursors still rising, final state exact', async () => {
    const gw = await h.start('bp-conflate', {
      reapIntervalMs: 600_000,
      tuning: { connection: { maxBufferedBytes: 256 * 1024 * 1024, backpressure: { softBytes: SOFT } } },
    });
    const orders = await Promise.all([0, 1, 2].map(() => worker.insert('Slow', 'pending', PRODUCT)));
    const barrier = await worker.insert('Slow', 'pending');
    const ids = orders.map((o) => o.id);
    const s = await stalled(gw, [...ids, barrier.id]);
    const conn = onlyConnection(gw);

    // Write until the gateway has replaced held changes several times over.
    let writes = 0;
    const statuses = ['paid', 'pending'] as const;
    await until(
      async () => {
        const id = ids[writes % ids.length] ?? 0;
        await worker.update(id, { status: statuses[Math.floor(writes / ids.length) % 2] });
        writes++;
        return conn.outbox.conflated >= 20;
      },
      'the gateway to conflate held changes',
      120_000,
    );
    expect(conn.closed).toBe(false);

    // Barrier: a change written after all others; once it is in, nothing else is on its way.
    socketOf(s.ws).resume();
    const last = await worker.update(barrier.id, { status: 'paid' });
    await until(
      () =>
        s.frames.some(
          (f) => f.type === 'change' && f.row.id === barrier.id && f.row.version === last.version,
        ),
      'the barrier change',
      60_000,
    );
    const changes = s.frames.filter((f) => f.type === 'change' && f.row.id !== barrier.id);
    expect(changes.length).toBeLessThan(writes);
    const db = await worker.rows((o) => ids.includes(o.id));
    for (const id of ids) {
      const mine = changes.filter((f) => f.type === 'change' && f.row.id === id).at(-1);
      expect(mine?.type === 'change' ? mine.row.version : undefined).toBe(db.get(id)?.version);
    }
    // [P102] Every version that jumps comes marked conflated, and only those: a jump without
    // the mark would be a change that went missing.
    const known = new Map<number, number>();
    let marked = 0;
    for (const f of changes) {
      if (f.type !== 'change') continue;
      const before = known.get(f.row.id);
      const jumped = before !== undefined && f.row.version > before + 1;
      expect(jumped ? f.conflated : true, `order ${f.row.id} v${f.row.version} after v${before}`).toBe(true);
      if (f.conflated) marked++;
      known.set(f.row.id, f.row.version);
    }
    expect(marked).toBeGreaterThan(0);
    // Order, versions and cursors of every frame were checked as they arrived (conformance checker).
  });

  it('[P84][P93] cuts a reader off with 4008 once held and queued bytes pass the hard limit', async () => {
    expectFaults({ faults: ['slow_reader'] });
    const gw = await h.start('bp-cut', {
      reapIntervalMs: 600_000,
      tuning: { connection: { maxBufferedBytes: 1024 * 1024, backpressure: { softBytes: SOFT } } },
    });
    const s = await openRaw(gw.url);
    sockets.push(s);
    await s.next(is('welcome'));
    s.send({ type: 'subscribe', sub: 'cut', filter: { customer: 'Cut' } });
    await s.next(is('live', 'cut'));
    socketOf(s.ws).pause();
    const conn = onlyConnection(gw);
    // New orders only, so nothing conflates and held bytes only grow.
    await until(
      async () => {
        await worker.insert('Cut', 'pending', PRODUCT);
        return conn.closed;
      },
      'the gateway to cut the slow reader off',
      120_000,
    );
    socketOf(s.ws).resume();
    expect(await s.waitClose(60_000)).toMatchObject({ code: 4008 });
  });
});
