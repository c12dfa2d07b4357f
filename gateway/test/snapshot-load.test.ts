import type { ServerFrame } from '@orders/contract';
import { errorPolicy } from '@orders/contract';
import { CheckedWebSocket } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type PlainWebSocket from 'ws';
import { SnapshotScheduler } from '../src/snapshot/snapshot-scheduler.ts';
import { is, openRaw } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { lockOrders } from './support/table-lock.ts';
import { until } from './support/wait.ts';

const ROWS = 100_000;
/** Wide rows make the snapshot tens of megabytes, far past the socket limits below. */
const PRODUCT = 'p'.repeat(200);
const SOFT = 256 * 1024;
const HARD = 1024 * 1024;

/** Bytes the throttled reader takes per tick: 150 KB every 50 ms, about 3 MB/s. */
const READ_BUDGET = 150 * 1024;
const READ_TICK_MS = 50;

interface RawTcp {
  pause(): void;
  resume(): void;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
}
const socketOf = (ws: PlainWebSocket) => (ws as unknown as { _socket: RawTcp })._socket;

async function openWs(url: string): Promise<PlainWebSocket> {
  const ws = new CheckedWebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

describe('snapshots under load', () => {
  let h: GatewayHarness;
  const sockets: PlainWebSocket[] = [];

  beforeAll(async () => {
    h = await createHarness();
    await h.db.sql`
      insert into orders (customer_name, product_name, status)
      select 'c' || (i % 50), ${PRODUCT}, 'pending' from generate_series(1, ${ROWS}) as i`;
    // Fresh statistics now, so autovacuum does not change query plans halfway through the suite.
    await h.db.sql`analyze orders`;
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await h?.close();
  });

  it('[P90] a throttled reader gets its whole 100k-row snapshot and is not cut off', async () => {
    const gw = await h.start('load-slow', {
      reapIntervalMs: 600_000,
      tuning: { connection: { maxBufferedBytes: HARD, backpressure: { softBytes: SOFT } } },
    });
    const ws = await openWs(gw.url);
    sockets.push(ws);
    let rows = 0;
    let done = false;
    let live = false;
    let closed: number | undefined;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      if (frame.type === 'snapshot') {
        rows += frame.rows.length;
        done ||= frame.done;
      } else if (frame.type === 'live') live = true;
    });
    ws.on('close', (code) => {
      closed = code;
    });
    // Reads a fixed budget per tick, slower than the gateway can produce: without waiting
    // for the socket, the gateway's queue would pass the hard limit within a second or two.
    const raw = socketOf(ws);
    let budget = READ_BUDGET;
    raw.on('data', (chunk) => {
      budget -= chunk.length;
      if (budget <= 0) raw.pause();
    });
    const throttle = setInterval(() => {
      budget = READ_BUDGET;
      raw.resume();
    }, READ_TICK_MS);
    try {
      ws.send(JSON.stringify({ type: 'subscribe', sub: 'all' }));
      await until(
        () => live || closed !== undefined,
        'the snapshot to finish or the socket to close',
        170_000,
      );
    } finally {
      clearInterval(throttle);
      raw.resume();
    }
    expect(closed).toBeUndefined();
    expect(done).toBe(true);
    expect(rows).toBe(ROWS);
    expect(closed).not.toBe(errorPolicy('slow_consumer').close);
  });

  it('[P89] unsubscribe cancels a running snapshot query and frees its slot for the next socket', async () => {
    const gw = await h.start('load-cancel', {
      tuning: { snapshotScheduler: new SnapshotScheduler({ concurrency: 1 }) },
    });
    /** Snapshot queries PostgreSQL is running now; `byIds` tells b's (an ids filter) from a's. */
    const running = async (byIds: boolean) => {
      const rows = await h.db.sql<{ query: string }[]>`
        select query from pg_stat_activity
        where datname = ${h.db.name} and state = 'active' and pid <> pg_backend_pid()
          and query like '%from orders%'`;
      return rows.filter((r) => r.query.includes('id = any') === byIds).length;
    };
    // Holding an exclusive lock makes the gateway's snapshot query wait inside PostgreSQL:
    // a query that is really running when the unsubscribe arrives.
    const lock = await lockOrders(h.db.sql);
    try {
      const a = await openRaw(gw.url);
      const b = await openRaw(gw.url);
      await a.next(is('welcome'));
      await b.next(is('welcome'));
      a.send({ type: 'subscribe', sub: 'big' });
      await until(async () => (await running(false)) === 1, "a's snapshot query to run");
      // Concurrency 1: b's snapshot waits for a's slot.
      b.send({ type: 'subscribe', sub: 'one', filter: { ids: [1] } });
      a.send({ type: 'unsubscribe', sub: 'big' });
      await a.next(is('unsubscribed', 'big'));
      // a's query is gone from PostgreSQL and b's took the slot, while the lock still holds.
      await until(async () => (await running(true)) === 1, "b's query to get the slot");
      expect(await running(false)).toBe(0);
      expect(a.frames.filter((f) => f.type === 'error')).toEqual([]);
      await lock.release();
      await b.next(is('live', 'one'));
      expect(
        b.frames.filter((f) => f.type === 'snapshot').flatMap((f) => (f.type === 'snapshot' ? f.rows : [])),
      ).toHaveLength(1);
      a.close();
      b.close();
    } finally {
      await lock.release().catch(() => {});
    }
  });

  it('200 subscribes taken back while their snapshots run or wait leave nothing running or queued for another client', async () => {
    const scheduler = new SnapshotScheduler();
    const gw = await h.start('load-churn', {
      // The message rate limit would stop the loop; this is about database fairness.
      tuning: { snapshotScheduler: scheduler, session: { rateLimit: { burst: 10_000, perSecond: 10_000 } } },
    });
    /** The churner's snapshot queries PostgreSQL is running (a status filter; the victim's is by ids). */
    const churnQueries = async () => {
      const rows = await h.db.sql<{ query: string }[]>`
        select query from pg_stat_activity
        where datname = ${h.db.name} and state = 'active' and pid <> pg_backend_pid()
          and query like '%from orders%'`;
      return rows.filter((r) => !r.query.includes('id = any')).length;
    };
    const victim = await openRaw(gw.url);
    await victim.next(is('welcome'));
    let round = 0;
    const victimSnapshot = async () => {
      const sub = `v${++round}`;
      victim.send({ type: 'subscribe', sub, filter: { ids: [1, 2, 3, 4, 5] } });
      await victim.next(is('live', sub));
      victim.send({ type: 'unsubscribe', sub });
      await victim.next(is('unsubscribed', sub));
    };

    // The churner asks for snapshots 25 at a time (the lock below holds every page query in
    // PostgreSQL), and takes them all back while the first ones run and the others wait. Each
    // names a customer of its own: subscriptions of one filter would share their page reads,
    // and this is about reads of their own.
    const churner = await openWs(gw.url);
    sockets.push(churner);
    let acks = 0;
    let acked: (() => void) | undefined;
    churner.on('message', (data) => {
      if (String(data).startsWith('{"type":"unsubscribed"')) {
        acks++;
        acked?.();
      }
    });
    const BATCH = 25;
    let loops = 0;
    const burst = async () => {
      const target = acks + BATCH;
      const done = new Promise<void>((resolve) => {
        acked = () => {
          if (acks >= target) resolve();
        };
      });
      const subs = Array.from({ length: BATCH }, (_, i) => `x${loops + i}`);
      loops += BATCH;
      for (const sub of subs)
        churner.send(JSON.stringify({ type: 'subscribe', sub, filter: { status: ['paid'], customer: sub } }));
      // The socket's first snapshots are running (held by the lock), the rest wait their turn.
      await until(
        async () => (await churnQueries()) === scheduler.perSocket,
        "the churner's first snapshot queries to run",
      );
      for (const sub of subs) churner.send(JSON.stringify({ type: 'unsubscribe', sub }));
      await done;
    };
    /** Runs `work` while an exclusive lock makes every snapshot query wait inside PostgreSQL. */
    const underLock = async (work: () => Promise<void>) => {
      const lock = await lockOrders(h.db.sql);
      try {
        await work();
      } finally {
        await lock.release();
      }
    };
    for (let i = 0; i < 8; i++) {
      await underLock(async () => {
        await burst();
        // No churned query can finish while the lock holds: only cancelling the running ones
        // and dropping the waiting ones empties the gateway's slots and PostgreSQL.
        await until(
          async () => scheduler.running === 0 && scheduler.queued === 0 && (await churnQueries()) === 0,
          'every churned snapshot to stop: none running or waiting, in the gateway or PostgreSQL',
        );
      });
      // Whoever subscribes next waits behind none of the churn, and is served.
      await victimSnapshot();
    }
    expect(loops).toBeGreaterThanOrEqual(200);
    const served = victim.frames.filter((f) => f.type === 'snapshot' && f.done);
    expect(served).toHaveLength(round);
    expect(served.flatMap((f) => (f.type === 'snapshot' ? f.rows.map((r) => r.id) : []))).toEqual(
      served.flatMap(() => [1, 2, 3, 4, 5]),
    );
    victim.close();
  });
});
