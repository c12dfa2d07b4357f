import type { ServerFrame } from '@orders/contract';
import { errorPolicy } from '@orders/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import PlainWebSocket from 'ws';
import { SnapshotScheduler } from '../src/snapshot/snapshot-scheduler.ts';
import { CheckedWebSocket } from './support/checked-socket.ts';
import { is, openRaw } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
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
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/**
 * `checked: false` only for a pure load generator in a latency comparison: the checker runs in
 * the gateway's process, so its work on thousands of churn frames would be measured as
 * gateway latency. Every socket whose frames a test judges is checked.
 */
async function openWs(url: string, checked = true): Promise<PlainWebSocket> {
  const ws = checked ? new CheckedWebSocket(url) : new PlainWebSocket(url);
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

  it('a throttled reader gets its whole 100k-row snapshot and is not cut off', async () => {
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

  it('unsubscribe cancels a running snapshot query and frees its slot for the next socket', async () => {
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
    let unlock = () => {};
    const locked = new Promise<void>((resolve) => {
      unlock = resolve;
    });
    let lockHeld = false;
    // Holding an exclusive lock makes the gateway's snapshot query wait inside PostgreSQL:
    // a query that is really running when the unsubscribe arrives.
    const lock = h.db.sql.begin(async (tx) => {
      await tx`lock table orders in access exclusive mode`;
      lockHeld = true;
      await locked;
    });
    try {
      await until(() => lockHeld, 'the table lock');
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
      unlock();
      await lock;
      await b.next(is('live', 'one'));
      expect(
        b.frames.filter((f) => f.type === 'snapshot').flatMap((f) => (f.type === 'snapshot' ? f.rows : [])),
      ).toHaveLength(1);
      a.close();
      b.close();
    } finally {
      unlock();
      await lock.catch(() => {});
    }
  });

  it("200 subscribe/unsubscribe loops on one socket do not double another client's snapshot latency", async () => {
    const gw = await h.start('load-churn', {
      // The message rate limit would stop the loop; this is about database fairness.
      tuning: { session: { rateLimit: { burst: 10_000, perSecond: 10_000 } } },
    });
    const victim = await openRaw(gw.url);
    await victim.next(is('welcome'));
    let round = 0;
    const snapshotLatency = async () => {
      const sub = `v${++round}`;
      const started = performance.now();
      victim.send({ type: 'subscribe', sub, filter: { ids: [1, 2, 3, 4, 5] } });
      await victim.next(is('live', sub));
      const elapsed = performance.now() - started;
      victim.send({ type: 'unsubscribe', sub });
      await victim.next(is('unsubscribed', sub));
      return elapsed;
    };
    const SAMPLES = 9;
    // Warm-up: the first subscriptions pay for compilation and connection set-up.
    for (let i = 0; i < 5; i++) await snapshotLatency();
    const idle: number[] = [];
    for (let i = 0; i < SAMPLES; i++) idle.push(await snapshotLatency());

    // The churner asks for expensive snapshots (no row is 'paid', so each page query walks
    // the whole table to return nothing) and takes each back at once, 25 at a time. After
    // each burst is acknowledged, the victim subscribes: whatever the burst left running
    // or queued in the database is what it would wait behind.
    const churner = await openWs(gw.url, false);
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
      for (let i = 0; i < BATCH; i++, loops++) {
        const sub = `x${loops}`;
        churner.send(JSON.stringify({ type: 'subscribe', sub, filter: { status: ['paid'] } }));
        churner.send(JSON.stringify({ type: 'unsubscribe', sub }));
      }
      await done;
    };
    const loaded: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await burst();
      loaded.push(await snapshotLatency());
    }
    expect(loops).toBeGreaterThanOrEqual(200);
    expect(median(loaded), `idle ${idle.join(', ')} / loaded ${loaded.join(', ')} ms`).toBeLessThan(
      2 * median(idle),
    );
    victim.close();
  });
});
