/**
 * The JS heap and RSS one idle gateway socket costs, small enough to run after every change.
 * Builds the gateway (dist/main.js, as production runs it), then per round starts a fresh
 * gateway process, opens and closes 200 sockets (warm-up), reads its settled memory, opens
 * `--connections` sockets from a holder process (each with one subscription that matches
 * nothing, `ids: [999999]`, gone live on an empty snapshot) and reads it again. With `--bare`
 * each round then measures the bare `ws` server of `npm run bench:connections` the same way.
 * Prints one line per round and the medians; the difference divided by the sockets is the
 * cost of one.
 *
 *   npx tsx --conditions=development bench/gateway/heap-per-socket.ts [-- --connections 2000 --rounds 1 --bare]
 */
import type { ChildProcess } from 'node:child_process';
import { benchLog, benchOptions, runBench, spread, until } from '@orders/test-harness';
import {
  benchGround,
  buildGateway,
  gatewayConnections,
  type Holder,
  memoryOf,
  socketUrl,
  spawnMeasuredGateway,
  startBareServer,
  startHolder,
} from './load-kit.ts';

const args = benchOptions({ connections: 2000, rounds: 1, window: 50, bare: false, 'skip-build': false });
const log = benchLog('heap-per-socket');
const children: ChildProcess[] = [];

interface PerSocket {
  heap: number;
  rss: number;
}

/** Warm-up, then the settled memory before and after opening the idle sockets; closes them again. */
async function perSocket(
  holder: Holder,
  pid: number,
  url: string,
  open: () => Promise<number>,
): Promise<PerSocket> {
  // Compiled code and lazily built structures are not per-socket cost.
  await holder.open(url, 200);
  await holder.close(200);
  await until(async () => (await open()) === 0, 'warm-up sockets closed');
  const before = await memoryOf(pid);
  await holder.open(url, args.connections);
  await until(async () => (await open()) === args.connections, 'the server counts every socket');
  const after = await memoryOf(pid);
  await holder.close(args.connections);
  return {
    heap: (after.heapUsed - before.heapUsed) / args.connections,
    rss: (after.rss - before.rss) / args.connections,
  };
}

async function gatewayRound(holder: Holder, env: Record<string, string>, round: number): Promise<PerSocket> {
  const gw = await spawnMeasuredGateway(`${env.REDIS_NS}-${round}`, env);
  children.push(gw.child);
  try {
    return await perSocket(holder, gw.child.pid ?? 0, await socketUrl(gw), () => gatewayConnections(gw.port));
  } finally {
    await gw.kill('SIGKILL');
  }
}

async function bareRound(holder: Holder): Promise<PerSocket> {
  const bare = await startBareServer();
  children.push(bare.child);
  try {
    return await perSocket(holder, bare.child.pid ?? 0, bare.url, bare.count);
  } finally {
    bare.child.kill('SIGKILL');
  }
}

async function main() {
  if (!args['skip-build']) buildGateway();
  const ground = await benchGround('benchheap');
  const holder = startHolder(args.window);
  children.push(holder.child);
  const env = ground.gatewayEnv(args.connections * 2);
  const gateway: PerSocket[] = [];
  const bare: PerSocket[] = [];
  const line = (what: string, cost: PerSocket) =>
    `${what} heap ${cost.heap.toFixed(0)} B/socket, RSS ${cost.rss.toFixed(0)} B/socket`;
  try {
    for (let round = 0; round < args.rounds; round++) {
      const g = await gatewayRound(holder, env, round);
      gateway.push(g);
      log(line(`round ${round + 1}: gateway`, g));
      if (!args.bare) continue;
      const b = await bareRound(holder);
      bare.push(b);
      log(line(`round ${round + 1}: bare`, b));
    }
    const medians = (costs: PerSocket[]) => ({
      heapMedian: Math.round(spread(costs.map((c) => c.heap)).median),
      rssMedian: Math.round(spread(costs.map((c) => c.rss)).median),
    });
    const result = {
      sockets: args.connections,
      rounds: args.rounds,
      gateway: { runs: gateway, ...medians(gateway) },
      ...(bare.length === 0 ? {} : { bare: { runs: bare, ...medians(bare) } }),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await ground.drop();
  }
}

runBench(main, log, children);
