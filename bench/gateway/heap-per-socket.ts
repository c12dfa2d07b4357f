/**
 * The JS heap and RSS one idle gateway socket costs, small enough to run after every change.
 * Builds the gateway (dist/main.js, as production runs it), then per round starts a fresh
 * gateway process, opens and closes 200 sockets (warm-up), reads its settled memory, opens
 * `--connections` sockets from a holder process (each with one subscription that matches
 * nothing, `ids: [999999]`, gone live on an empty snapshot) and reads it again. Prints one
 * line per round and the medians; the difference divided by the sockets is the cost of one.
 *
 *   npx tsx --conditions=development bench/gateway/heap-per-socket.ts [-- --connections 2000 --rounds 1]
 */
import type { ChildProcess } from 'node:child_process';
import {
  benchLog,
  benchOptions,
  createTestDatabase,
  devToken,
  dropRedisNamespace,
  newNamespace,
  runBench,
  spread,
  until,
} from '@orders/test-harness';
import { createClient } from 'redis';
import { buildGateway, gatewayConnections, memoryOf, spawnMeasuredGateway, startHolder } from './load-kit.ts';

const args = benchOptions({ connections: 2000, rounds: 1, window: 50, 'skip-build': false });
const log = benchLog('heap-per-socket');
const children: ChildProcess[] = [];

async function main() {
  if (!args['skip-build']) buildGateway();
  const ns = `benchheap${newNamespace()}`;
  const db = await createTestDatabase();
  const holder = startHolder(args.window);
  children.push(holder.child);
  const cap = String(args.connections * 2);
  const env = {
    REDIS_NS: ns,
    DATABASE_READER_URL: db.readerUrl,
    LOG_LEVEL: 'warn',
    MAX_CONNECTIONS_PER_IP: cap,
    MAX_CONNECTIONS_PER_PRINCIPAL: cap,
    MAX_STAFF_CONNECTIONS: cap,
    MAX_CONNECTIONS: cap,
  };
  const heap: number[] = [];
  const rss: number[] = [];
  try {
    for (let round = 0; round < args.rounds; round++) {
      const gw = await spawnMeasuredGateway(`${ns}-${round}`, env);
      children.push(gw.child);
      try {
        const pid = gw.child.pid ?? 0;
        const url = `${gw.url}?token=${await devToken(gw.url)}`;
        const count = () => gatewayConnections(gw.port);
        // Compiled code and lazily built structures are not per-socket cost.
        await holder.open(url, 200);
        await holder.close(200);
        await until(async () => (await count()) === 0, 'warm-up sockets closed');
        const before = await memoryOf(pid);
        await holder.open(url, args.connections);
        await until(async () => (await count()) === args.connections, 'gateway counts every socket');
        const after = await memoryOf(pid);
        await holder.close(args.connections);
        heap.push((after.heapUsed - before.heapUsed) / args.connections);
        rss.push((after.rss - before.rss) / args.connections);
        log(
          `round ${round + 1}: heap ${(heap.at(-1) ?? 0).toFixed(0)} B/socket, RSS ${(rss.at(-1) ?? 0).toFixed(0)} B/socket`,
        );
      } finally {
        await gw.kill('SIGKILL');
      }
    }
    const median = (values: number[]) => spread(values).median.toFixed(0);
    process.stdout.write(
      `${JSON.stringify({ sockets: args.connections, rounds: args.rounds, heapPerSocket: heap, rssPerSocket: rss, heapMedian: median(heap), rssMedian: median(rss) })}\n`,
    );
  } finally {
    for (const child of children) child.kill('SIGKILL');
    const redis = createClient({ url: 'redis://127.0.0.1:6379' });
    redis.on('error', () => {});
    await redis.connect();
    await dropRedisNamespace(redis, ns);
    await redis.close();
    await db.drop();
  }
}

runBench(main, log, children);
