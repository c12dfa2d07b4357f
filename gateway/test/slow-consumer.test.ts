import { type Order, orderStatuses } from '@orders/drizzle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { OrdersClient } from '../src/client/index.ts';
import type { RunningGateway } from '../src/node-server.ts';
import type { ServerFrame } from '../src/protocol/server-frame.ts';
import { CheckedWebSocket } from './support/checked-socket.ts';
import { diffViews } from './support/scoped-view.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { createTimedFeeder, preciseNow } from './support/timed-feeder.ts';
import { until } from './support/wait.ts';

const FAST_CLIENTS = 8;
const SLOW_SUBSCRIPTIONS = 8;
const ORDERS = 100;
const RATE_PER_S = 100;
const PHASE_MS = 2500;
/** Alternating short phases spread the machine's background noise over both sides. */
const CYCLES = 8;
const COMMITTED_AT = /"committedAt":([\d.]+)\}$/;
const SOFT = 256 * 1024;
const HARD = 4 * 1024 * 1024;
/** Big rows make a stalled socket fill its kernel buffers within a second or two. */
const PRODUCT = 'p'.repeat(1500);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;

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
    for (const ws of sockets) ws.terminate();
    await h?.close();
  });

  it('conflates, then cuts it off; other clients keep their p99, memory stays bounded, it converges after', async () => {
    const feeder = createTimedFeeder(h.redis, h.keys, h.db.sql);
    await h.db.sql`
      insert into orders (customer_name, product_name, status)
      select 'c' || (i % 5), ${PRODUCT}, 'pending' from generate_series(1, ${ORDERS}) as i`;
    const ids = [...(await feeder.rows()).keys()];

    // Fast clients: record (commit time, latency) of every change, keep nothing else.
    const samples: [number, number][] = [];
    let fastChanges = 0;
    for (let i = 0; i < FAST_CLIENTS; i++) {
      const ws = new CheckedWebSocket(gw.url);
      sockets.push(ws);
      let live = false;
      ws.on('message', (data) => {
        const received = preciseNow();
        const text = String(data);
        // Change frames end with committedAt; reading it from the tail instead of parsing
        // 3 KB of JSON keeps the test's own CPU use (shared with the gateway) small.
        const committed = COMMITTED_AT.exec(text);
        if (committed !== null && text.startsWith('{"type":"change"')) {
          const at = Number(committed[1]);
          samples.push([at, received - at]);
          fastChanges++;
        } else if ((JSON.parse(text) as ServerFrame).type === 'live') live = true;
      });
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ type: 'subscribe', sub: 'all' }));
      await until(() => live, 'a fast client to go live');
    }

    // The slow client: the real client with several subscriptions, over a socket we can stall.
    const transports: WebSocket[] = [];
    class TrackedWebSocket extends CheckedWebSocket {
      constructor(url: string) {
        super(url);
        transports.push(this);
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
    const feed = async (ms: number, until: () => boolean = () => false) => {
      const start = performance.now();
      let due = 0;
      while (performance.now() - start < ms && !until()) {
        due = Math.floor(((performance.now() - start) * RATE_PER_S) / 1000);
        while (n < due + 0) {
          await feeder.update(ids[n % ids.length] ?? 1, orderStatuses[n % orderStatuses.length] ?? 'paid');
          n++;
        }
        await sleep(1);
      }
    };
    // Rebase the counter per phase so each phase writes at the same rate.
    const phase = async (ms: number): Promise<[number, number]> => {
      const from = preciseNow();
      const base = n;
      n = 0;
      await feed(ms);
      n += base;
      return [from, preciseNow()];
    };

    let peakSocketBytes = 0;
    let peakConflated = 0;
    let peakHeap = 0;
    const sampler = setInterval(() => {
      for (const conn of gw.hub.connections) {
        peakSocketBytes = Math.max(peakSocketBytes, conn.sink.bufferedAmount() + conn.outbox.heldBytes);
        peakConflated = Math.max(peakConflated, conn.outbox.conflated);
      }
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 25);
    const stats = () => [...gw.hub.connections][0]?.stats;

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
      await phase(2000); // warm-up, not measured
      // Alternating phases in one run: background noise on the machine lands on both sides.
      const windowsA: [number, number][] = [];
      const windowsB: [number, number][] = [];
      let conflatedDuringB = 0;
      let heapGrowth = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        windowsA.push(await phase(PHASE_MS));
        stalled().pause();
        const heapBefore = process.memoryUsage().heapUsed;
        peakHeap = heapBefore;
        // Unmeasured: traffic until the kernel buffers are full and the gateway holds frames,
        // so the measured window is the regime under test.
        const start = n;
        n = 0;
        await feed(20_000, () => [...gw.hub.connections].some((c) => c.outbox.heldFrames > 0));
        n += start;
        peakConflated = 0;
        windowsB.push(await phase(PHASE_MS));
        conflatedDuringB += peakConflated;
        heapGrowth = Math.max(heapGrowth, peakHeap - heapBefore);
        stalled().resume();
        // Conflated, not cut: it catches up on the same socket.
        await converge(`the slow client to catch up after stall ${cycle}`);
      }
      expect(stats()?.slowConsumers ?? 0).toBe(0);

      // New orders are new keys conflation cannot merge: the held bytes pass the hard limit.
      stalled().pause();
      const heapBefore = process.memoryUsage().heapUsed;
      peakHeap = heapBefore;
      for (let i = 0; i < 1500 && (stats()?.slowConsumers ?? 0) === 0; i++)
        await feeder.insert('c9', PRODUCT);
      await until(() => (stats()?.slowConsumers ?? 0) >= 1, 'the stalled socket to be cut off');
      heapGrowth = Math.max(heapGrowth, peakHeap - heapBefore);
      const cutTransports = transports.length;
      stalled().resume();
      await converge('the cut-off client to resume from its cursor and converge');
      expect(transports.length).toBeGreaterThan(cutTransports - 1);
      expect(transports.length).toBeGreaterThan(1);

      const inWindows = (windows: [number, number][]) =>
        samples
          .filter(([at]) => windows.some(([from, to]) => at >= from && at < to))
          .map(([, latency]) => latency)
          .sort((a, b) => a - b);
      const a = inWindows(windowsA);
      const b = inWindows(windowsB);
      const report = {
        baseline: { samples: a.length, p50: percentile(a, 0.5), p99: percentile(a, 0.99) },
        stalled: { samples: b.length, p50: percentile(b, 0.5), p99: percentile(b, 0.99) },
        peakSocketBytes,
        conflatedDuringB,
        heapGrowthMiB: heapGrowth / 2 ** 20,
        slowConsumers: stats()?.slowConsumers,
        fastChanges,
      };
      console.info(`slow consumer: ${JSON.stringify(report)}`);

      expect(a.length).toBeGreaterThan(FAST_CLIENTS * RATE_PER_S * (PHASE_MS / 1000) * CYCLES * 0.5);
      expect(b.length).toBeGreaterThan(FAST_CLIENTS * RATE_PER_S * (PHASE_MS / 1000) * CYCLES * 0.5);
      expect(report.stalled.p99).toBeLessThanOrEqual(report.baseline.p99 * 1.2);
      expect(conflatedDuringB).toBeGreaterThan(0);
      // The stalled socket never held more than the hard limit plus the frame that crossed it.
      expect(peakSocketBytes).toBeLessThanOrEqual(HARD + 64 * 1024);
      expect(heapGrowth).toBeLessThan(64 * 2 ** 20);
    } finally {
      clearInterval(sampler);
    }
  });
});
