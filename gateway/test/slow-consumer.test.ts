import { OrdersClient } from '@orders/client';
import type { ServerFrame } from '@orders/contract';
import { type Order, orderStatuses } from '@orders/drizzle';
import { CheckedWebSocket, expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import type { RunningGateway } from '../src/node-server.ts';
import { createFakeWorker } from './support/fake-worker.ts';
import { diffViews } from './support/scoped-view.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { until } from './support/wait.ts';

const FAST_CLIENTS = 8;
const SLOW_SUBSCRIPTIONS = 8;
const ORDERS = 100;
const RATE_PER_S = 100;
const PHASE_MS = 2500;
const STALLS = 3;
const SOFT = 256 * 1024;
const HARD = 4 * 1024 * 1024;
/** The documented close code for a client cut off as a slow consumer. */
const SLOW_CONSUMER_CLOSE = 4008;
/** Big rows make a stalled socket fill its kernel buffers within a second or two. */
const PRODUCT = 'p'.repeat(1500);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;

/**
 * A fast client's record of what it was sent: the version it last saw of every order, every
 * change that did not come exactly one version after the previous one (a conflated, lost,
 * repeated or reordered change), and any close.
 */
function watchFastClient(ws: WebSocket) {
  const seen = { versions: new Map<number, number>(), violations: [] as string[], changes: 0, live: false };
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as ServerFrame;
    if (frame.type === 'snapshot') for (const row of frame.rows) seen.versions.set(row.id, row.version);
    else if (frame.type === 'live') seen.live = true;
    else if (frame.type === 'change') {
      seen.changes++;
      const previous = seen.versions.get(frame.row.id) ?? 0;
      if (frame.row.version !== previous + 1)
        seen.violations.push(`order ${frame.row.id}: version ${frame.row.version} after ${previous}`);
      seen.versions.set(frame.row.id, frame.row.version);
    }
  });
  ws.on('close', (code) => seen.violations.push(`closed with ${code}`));
  return seen;
}

describe('a client that stops reading hurts nobody else', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  const sockets: WebSocket[] = [];
  let slow: OrdersClient | undefined;

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('slow-a', {
      // Reaping would also end the stalled socket; this suite is about backpressure.
      reapIntervalMs: 600_000,
      tuning: { connection: { maxBufferedBytes: HARD, backpressure: { softBytes: SOFT } } },
    });
  });
  afterAll(async () => {
    slow?.close();
    for (const ws of sockets) ws.removeAllListeners('close').terminate();
    await h?.close();
  });

  it('[P94] conflates, then cuts it off with 4008; other clients get every version, held frames stay bounded, it converges after', async () => {
    expectFaults({ faults: ['slow_reader'] });
    // The fake worker stamps committedAt in whole milliseconds, as PROTOCOL.md has it (the
    // timed feeder stamps sub-millisecond times, for latency percentiles, not for the wire).
    const feeder = createFakeWorker(h.redis, h.keys, h.db.sql);
    await h.db.sql`
      insert into orders (customer_name, product_name, status)
      select 'c' || (i % 5), ${PRODUCT}, 'pending' from generate_series(1, ${ORDERS}) as i`;
    const ids = [...(await feeder.rows()).keys()];

    // Fast clients: raw sockets that read everything and check every version arrives.
    const fast: ReturnType<typeof watchFastClient>[] = [];
    for (let i = 0; i < FAST_CLIENTS; i++) {
      const ws = new CheckedWebSocket(gw.url);
      sockets.push(ws);
      const seen = watchFastClient(ws);
      fast.push(seen);
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ type: 'subscribe', sub: 'all' }));
      await until(() => seen.live, 'a fast client to go live');
    }

    // The slow client: the real client with several subscriptions, over a socket we can stall.
    // Its raw frames are checked too: conflation may skip versions but never repeat or reverse one.
    const transports: WebSocket[] = [];
    const closeCodes = new Map<WebSocket, number>();
    const slowViolations: string[] = [];
    const slowVersions = new Map<string, number>();
    let slowPings = 0;
    class TrackedWebSocket extends CheckedWebSocket {
      override send(data: string): void {
        // Each ping is answered with a pong the gateway may have to hold while the socket stalls.
        if (data === '{"type":"ping"}') slowPings++;
        super.send(data);
      }
      constructor(url: string) {
        super(url);
        transports.push(this);
        this.on('close', (code) => closeCodes.set(this, code));
        this.on('message', (data) => {
          const frame = JSON.parse(String(data)) as ServerFrame;
          if (frame.type !== 'change') return;
          const key = `${frame.sub}/${frame.row.id}`;
          const previous = slowVersions.get(key) ?? 0;
          if (frame.row.version <= previous)
            slowViolations.push(`${key}: version ${frame.row.version} after ${previous}`);
          slowVersions.set(key, frame.row.version);
        });
      }
    }
    slow = new OrdersClient({
      urls: [gw.url],
      WebSocket: TrackedWebSocket,
      minBackoffMs: 50,
      maxBackoffMs: 500,
    });
    const slowSubs = Array.from({ length: SLOW_SUBSCRIPTIONS }, () => slow?.subscribe() ?? expect.fail());
    await Promise.all(slowSubs.map((s) => s.ready()));

    let n = 0;
    // Paces writes at RATE_PER_S; the pace only shapes the load, nothing is judged by time.
    const feed = async (ms: number, stopWhen: () => boolean = () => false) => {
      const start = performance.now();
      let written = 0;
      while (performance.now() - start < ms && !stopWhen()) {
        const due = Math.floor(((performance.now() - start) * RATE_PER_S) / 1000);
        for (; written < due; written++, n++)
          await feeder.update(ids[n % ids.length] ?? 1, {
            status: orderStatuses[n % orderStatuses.length] ?? 'paid',
          });
        await sleep(1);
      }
    };

    // Counts, not heap timing: what the gateway holds for the stalled socket, sampled as it runs.
    let peakSocketBytes = 0;
    let peakHeldFrames = 0;
    const sampler = setInterval(() => {
      for (const conn of gw.hub.connections) {
        peakSocketBytes = Math.max(peakSocketBytes, conn.sink.bufferedAmount() + conn.outbox.heldBytes);
        peakHeldFrames = Math.max(peakHeldFrames, conn.outbox.heldFrames);
      }
    }, 10);
    const stats = () => [...gw.hub.connections][0]?.stats;
    const conflated = () => [...gw.hub.connections].reduce((sum, conn) => sum + conn.outbox.conflated, 0);

    const converge = async (what: string) => {
      const want = await feeder.rows();
      for (const [index, sub] of slowSubs.entries()) {
        let diff: string | undefined;
        await until(() => {
          diff = diffViews(sub.rows as Map<number, Order>, want);
          return diff === undefined;
        }, what).catch((error: unknown) => {
          throw new Error(`${what}, subscription ${index}: ${diff}`, { cause: error });
        });
      }
    };
    const stalled = () => {
      const ws = transports.at(-1);
      if (ws === undefined) throw new Error('no slow transport');
      return socketOf(ws);
    };

    try {
      let conflatedInStalls = 0;
      for (let stall = 0; stall < STALLS; stall++) {
        stalled().pause();
        // Traffic until the kernel buffers are full and the gateway holds frames, then more:
        // changes to orders that already have one held must replace it.
        await feed(60_000, () => [...gw.hub.connections].some((c) => c.outbox.heldFrames > 0));
        const before = conflated();
        await feed(PHASE_MS);
        conflatedInStalls += conflated() - before;
        stalled().resume();
        // Conflated, not cut: it catches up on the same socket.
        await converge(`the slow client to catch up after stall ${stall}`);
      }
      expect(conflatedInStalls).toBeGreaterThan(0);
      expect(stats()?.slowConsumers ?? 0).toBe(0);
      expect(transports).toHaveLength(1);
      // Held changes are keyed by (subscription, order): updates to ORDERS orders can never
      // make the gateway hold more than one change per pair, however long the stall; besides
      // them it holds only answers to the client's own pings.
      const stallPeakHeldFrames = peakHeldFrames;
      expect(stallPeakHeldFrames).toBeGreaterThan(0);
      expect(stallPeakHeldFrames).toBeLessThanOrEqual(ORDERS * SLOW_SUBSCRIPTIONS + slowPings);

      // New orders are new keys conflation cannot merge: the held bytes pass the hard limit.
      const cut = transports.at(-1);
      stalled().pause();
      for (let i = 0; i < 1500 && (stats()?.slowConsumers ?? 0) === 0; i++)
        await feeder.insert('c9', 'pending', PRODUCT);
      await until(() => (stats()?.slowConsumers ?? 0) >= 1, 'the stalled socket to be cut off');
      stalled().resume();
      await converge('the cut-off client to resume from its cursor and converge');
      // Cut with the documented code, and reconnected exactly once.
      await until(() => cut !== undefined && closeCodes.has(cut), 'the cut transport to close');
      expect(cut && closeCodes.get(cut)).toBe(SLOW_CONSUMER_CLOSE);
      expect(transports).toHaveLength(2);
      expect(stats()?.slowConsumers).toBe(1);
      // The stalled socket never held more than the hard limit plus the frame that crossed it.
      expect(peakSocketBytes).toBeLessThanOrEqual(HARD + 64 * 1024);

      // Barrier: one last change written after all the others. Once every fast client has it,
      // anything still missing, repeated or late would already show.
      const marker = ids[0] ?? 1;
      await feeder.update(marker, { status: 'delivered' });
      const want = await feeder.rows();
      const markerVersion = want.get(marker)?.version;
      await until(
        () => fast.every((seen) => seen.versions.get(marker) === markerVersion),
        'every fast client to see the marker change',
      );
      for (const [index, seen] of fast.entries()) {
        expect(seen.violations, `fast client ${index}`).toEqual([]);
        const stale = [...want]
          .filter(([id, row]) => seen.versions.get(id) !== row.version)
          .map(([id]) => id);
        expect(stale, `fast client ${index}: orders not at their final version`).toEqual([]);
      }
      expect(slowViolations).toEqual([]);
      console.info(
        `slow consumer: ${n} updates, ${fast[0]?.changes} changes per fast client, ` +
          `${conflatedInStalls} conflated, peak ${stallPeakHeldFrames} held frames while conflating, peak ${peakSocketBytes} bytes held`,
      );
    } finally {
      clearInterval(sampler);
    }
  });
});
