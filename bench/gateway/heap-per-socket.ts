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
 *   npx tsx --conditions=development bench/gateway/heap-per-socket.ts [--connections 2000 --rounds 1 --bare]
 */
import type { ChildProcess } from 'node:child_process';
import { benchLog, benchOptions, runBench, spread } from '@orders/test-harness';
import {
  benchGround,
  buildGateway,
  type Holder,
  type MeasuredServer,
  measureOpening,
  onBareServer,
  onGateway,
  startHolder,
} from './load-kit.ts';

const args = benchOptions({ connections: 2000, rounds: 1, window: 50, bare: false, 'skip-build': false });
const log = benchLog('heap-per-socket');
const children: ChildProcess[] = [];

interface PerSocket {
  heap: number;
  rss: number;
}

/** One round on a fresh server: heap and RSS per idle socket opened. */
async function perSocket(holder: Holder, server: MeasuredServer): Promise<PerSocket> {
  const { before, after } = await measureOpening(holder, server, args.connections);
  return {
    heap: (after.heapUsed - before.heapUsed) / args.connections,
    rss: (after.rss - before.rss) / args.connections,
  };
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
      const g = await onGateway(`${env.REDIS_NS}-${round}`, env, children, (server) =>
        perSocket(holder, server),
      );
      gateway.push(g);
      log(line(`round ${round + 1}: gateway`, g));
      if (!args.bare) continue;
      const b = await onBareServer(children, (server) => perSocket(holder, server));
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
