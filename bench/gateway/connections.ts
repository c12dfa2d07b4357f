/**
 * What an open socket costs a gateway, against a bare `ws` server in the same run.
 * Writes bench/results/connections.md (or `--out <name>`) at the repository root.
 *
 * 1. Memory and opening time: a compiled gateway process (`npm run build`, as production runs
 *    it), the design's upgrade path alone (hono-server.mjs: Hono, `@hono/node-server` and
 *    `@hono/node-ws` doing what the bare server does) and a bare `ws` process (bare-server.mjs)
 *    take turns, a fresh process each round, gateway first. Each opens `--connections`
 *    sockets from a separate holder process (connection-holder.ts), each socket with one
 *    subscription that matches nothing (`ids: [999999]`). Before and after, the measured
 *    process collects garbage (memory-probe.mjs) and its RSS is read from /proc; the
 *    difference divided by the sockets is the cost per connection. The timer runs from the
 *    first connect to the last `live` (gateway: JWT verification, welcome, subscribe, empty
 *    snapshot; bare: greeting and one answer).
 * 2. Latency while idle sockets pile up: `--active` clients in this process subscribed to
 *    everything, changes written with the worker's own fan-out script at `--rate`, while the
 *    gateway holds 1,000 and then `--hold` sockets in all, alternating. Latency runs from the
 *    write to the client's frame, on this process's clock.
 *
 *   npm run bench:connections [-- --connections 5000 --rounds 3 --hold 10000 --active 100 --rate 50 --seconds 10]
 */
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { redisKeys } from '@orders/contract/redis';
import {
  benchLog,
  benchOptions,
  formatSpread,
  type GatewayProcess,
  generatedBy,
  load1,
  machine,
  runBench,
  sleep,
  spread,
  until,
  writeResult,
} from '@orders/test-harness';
import {
  activeClients,
  type BenchGround,
  benchGround,
  buildGateway,
  createLatencyDriver,
  gatewayConnections,
  type Holder,
  type MeasuredServer,
  measureOpening,
  memoryOf,
  onBareServer,
  onGateway,
  socketUrl,
  spawnMeasuredGateway,
  startHolder,
} from './load-kit.ts';
import { percentile } from './percentile.ts';

const TARGET_MEMORY_RATIO = 1.5;
const TARGET_OPEN_RATIO = 1.5;
const TARGET_P99_GROWTH = 1.2;

const args = benchOptions({
  connections: 5000,
  rounds: 3,
  window: 50,
  hold: 10000,
  base: 1000,
  active: 100,
  rate: 50,
  seconds: 10,
  'latency-rounds': 2,
  out: 'connections',
  'skip-latency': false,
  'skip-memory': false,
});

const log = benchLog('connections');
const children: ChildProcess[] = [];

interface Cost {
  rssPerConn: number;
  heapPerConn: number;
  externalPerConn: number;
  openMs: number;
  /** CPU ms per socket opened, by process group (server, holder, postgres, redis, other). */
  cpuPerConn: Record<string, number>;
}

const CPU_GROUPS = ['server', 'holder', 'postgres', 'redis', 'other'] as const;

/** One round on a fresh server: its opening cost per connection. */
async function measure(holder: Holder, server: MeasuredServer): Promise<Cost> {
  const { before, after, openMs, cpuSeconds } = await measureOpening(holder, server, args.connections);
  return {
    rssPerConn: (after.rss - before.rss) / args.connections,
    heapPerConn: (after.heapUsed - before.heapUsed) / args.connections,
    externalPerConn: (after.external - before.external) / args.connections,
    openMs,
    cpuPerConn: Object.fromEntries(
      Object.entries(cpuSeconds).map(([name, seconds]) => [name, (seconds * 1000) / args.connections]),
    ),
  };
}

async function latencyRun(holder: Holder, env: Record<string, string>, ground: BenchGround) {
  const { redis } = ground;
  const keys = redisKeys(ground.ns);
  const gw: GatewayProcess = await spawnMeasuredGateway(`${env.REDIS_NS}-lat`, env);
  children.push(gw.child);
  const driver = createLatencyDriver(redis, keys, 'bench-connections', args.rate);
  const stop = await activeClients(await socketUrl(gw), args.active, driver.arrived);
  const idle = { open: 0 };
  const holdIdle = async (total: number) => {
    const target = total - args.active;
    if (target > idle.open) idle.open = (await holder.open(await socketUrl(gw), target - idle.open)).open;
    else if (target < idle.open) idle.open = (await holder.close(idle.open - target)).open;
    await until(
      async () => (await gatewayConnections(gw.port)) === total,
      `gateway holding ${total} sockets`,
    );
  };
  const phases: { held: number; p50: number; p99: number; max: number; samples: number; rss: number }[] = [];
  try {
    await driver.drive(2); // warm-up
    for (let round = 0; round < args['latency-rounds']; round++) {
      for (const held of [args.base, args.hold]) {
        await holdIdle(held);
        const { rss } = await memoryOf(gw.child.pid ?? 0);
        await driver.drive(1);
        driver.startSamples();
        await driver.drive(args.seconds);
        await sleep(1000);
        const expected = args.seconds * args.rate * args.active;
        const { samples, delivered } = driver.takeSamples(expected);
        phases.push({
          held,
          p50: percentile(samples, 50),
          p99: percentile(samples, 99),
          max: percentile(samples, 100),
          samples: delivered,
          rss,
        });
        log(
          `latency with ${held} sockets: p50 ${percentile(samples, 50).toFixed(2)} ms, p99 ${percentile(samples, 99).toFixed(2)} ms (${delivered}/${expected} deliveries)`,
        );
      }
    }
  } finally {
    stop();
    await holder.close(idle.open);
    await gw.kill('SIGKILL');
  }
  return phases;
}

async function main() {
  buildGateway();
  const loadBefore = load1();
  const ground = await benchGround('benchconn');
  const holder = startHolder(args.window);
  children.push(holder.child);
  const env = ground.gatewayEnv(Math.max(args.connections, args.hold) * 2);
  try {
    const gateway: Cost[] = [];
    const hono: Cost[] = [];
    const bare: Cost[] = [];
    // Alternating rounds: load from other work on the machine lands on both sides alike.
    for (let round = 0; round < (args['skip-memory'] ? 0 : args.rounds); round++) {
      gateway.push(
        await onGateway(`${env.REDIS_NS}-mem-${round}`, env, children, (server) => measure(holder, server)),
      );
      hono.push(await onBareServer(children, (server) => measure(holder, server), 'hono-server.mjs'));
      bare.push(await onBareServer(children, (server) => measure(holder, server)));
      const sides = { gateway, hono, bare };
      const cpu = (c: Cost) =>
        CPU_GROUPS.map((name) => `${name} ${(c.cpuPerConn[name] ?? 0).toFixed(2)}`).join(', ');
      for (const [name, costs] of Object.entries(sides)) {
        const c = costs.at(-1) as Cost;
        log(
          `round ${round + 1}, ${name}: ${(c.rssPerConn / 1024).toFixed(1)} KB/conn, ${(c.openMs / 1000).toFixed(2)} s; CPU ms per socket: ${cpu(c)}`,
        );
      }
    }
    const phases = args['skip-latency'] ? [] : await latencyRun(holder, env, ground);
    const loadAfter = load1();

    const kb = (costs: Cost[], key: 'rssPerConn' | 'heapPerConn' | 'externalPerConn') =>
      spread(costs.map((c) => c[key] / 1024));
    const seconds = (costs: Cost[]) => spread(costs.map((c) => c.openMs / 1000));
    // Each round's ratio of one side to another, measured in that round.
    const perRound = (side: Cost[], base: Cost[], key: 'rssPerConn' | 'openMs') =>
      side.map((c, i) => c[key] / (base[i]?.[key] ?? Number.NaN));
    const memoryRatios = perRound(gateway, bare, 'rssPerConn');
    const openRatios = perRound(gateway, bare, 'openMs');
    const memoryRatio = kb(gateway, 'rssPerConn').median / kb(bare, 'rssPerConn').median;
    const openRatio = seconds(gateway).median / seconds(bare).median;
    // What Hono and node-ws cost before the gateway does anything, and what the gateway adds.
    const floor = {
      memory: kb(hono, 'rssPerConn').median / kb(bare, 'rssPerConn').median,
      open: seconds(hono).median / seconds(bare).median,
      openRounds: perRound(hono, bare, 'openMs'),
      memoryRounds: perRound(hono, bare, 'rssPerConn'),
    };
    const aboveFloor = {
      memory: kb(gateway, 'rssPerConn').median / kb(hono, 'rssPerConn').median,
      open: seconds(gateway).median / seconds(hono).median,
    };
    const at = (held: number) => spread(phases.filter((p) => p.held === held).map((p) => p.p99));
    const p99Growth = phases.length === 0 ? Number.NaN : at(args.hold).median / at(args.base).median;
    const mark = (ok: boolean) => (ok ? '✅ met' : '❌ missed');
    // Medians of the rounds, per process group, and the sum of those medians.
    const cpuRow = (costs: Cost[]) => {
      const medians = CPU_GROUPS.map((g) => spread(costs.map((c) => c.cpuPerConn[g] ?? 0)).median);
      return [...medians, medians.reduce((a, b) => a + b, 0)].map((v) => v.toFixed(3)).join(' | ');
    };
    const range = (values: number[]) =>
      `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}×`;

    const memorySection = () => `## Memory and opening time per connection

${args.rounds} rounds, alternating gateway, Hono alone and bare server, a fresh process each; ${args.connections} sockets each, every
gateway socket with one subscription that matches nothing (\`ids: [999999]\`); median (min–max) of the rounds.
The ratio and target compare the gateway with the bare \`ws\` server.

| | gateway | Hono + node-ws alone | bare \`ws\` | ratio (medians) | rounds | target |
|---|---|---|---|---|---|---|
| RSS per connection, KB | ${formatSpread(kb(gateway, 'rssPerConn'), 1)} | ${formatSpread(kb(hono, 'rssPerConn'), 1)} | ${formatSpread(kb(bare, 'rssPerConn'), 1)} | **${memoryRatio.toFixed(2)}×** | ${range(memoryRatios)} | ≤ ${TARGET_MEMORY_RATIO}× ${mark(memoryRatio <= TARGET_MEMORY_RATIO)} |
| JS heap per connection, KB | ${formatSpread(kb(gateway, 'heapPerConn'), 1)} | ${formatSpread(kb(hono, 'heapPerConn'), 1)} | ${formatSpread(kb(bare, 'heapPerConn'), 1)} | | | |
| external memory per connection, KB | ${formatSpread(kb(gateway, 'externalPerConn'), 1)} | ${formatSpread(kb(hono, 'externalPerConn'), 1)} | ${formatSpread(kb(bare, 'externalPerConn'), 1)} | | | |
| opening ${args.connections} sockets, s | ${formatSpread(seconds(gateway), 2)} | ${formatSpread(seconds(hono), 2)} | ${formatSpread(seconds(bare), 2)} | **${openRatio.toFixed(2)}×** | ${range(openRatios)} | ≤ ${TARGET_OPEN_RATIO}× ${mark(openRatio <= TARGET_OPEN_RATIO)} |

**The design's upgrade path alone.** "Hono + node-ws alone" is hono-server.mjs: the upgrade
path the design prescribes (Hono, \`@hono/node-server\`, \`@hono/node-ws\`) doing exactly
what the bare server does, one greeting and one answer per socket, with nothing of the
gateway (no token, caps, subscription, snapshot or history). It sets the floor any gateway on
this path can reach:

| | Hono + node-ws alone / bare \`ws\` | rounds | gateway / Hono + node-ws alone |
|---|---|---|---|
| RSS per connection | ${floor.memory.toFixed(2)}× | ${range(floor.memoryRounds)} | ${aboveFloor.memory.toFixed(2)}× |
| opening | ${floor.open.toFixed(2)}× | ${range(floor.openRounds)} | ${aboveFloor.open.toFixed(2)}× |

The gateway runs compiled (\`npm run build\`, \`dist/main.js\`), as in production; the other two
are plain JavaScript processes. Memory is read after two forced collections (\`--expose-gc\`, a
SIGUSR2 handler preloaded into every measured process) before and after opening, RSS from \`/proc/<pid>/status\`; each side
first opened and closed 200 sockets so compiled code and lazily built structures are not
counted. Sockets come from a separate process, at most ${args.window} opening at once. Opening
runs from the first connect to the last answer: for the gateway the upgrade with JWT
verification (\`?token=\`), \`welcome\`, \`subscribe\`, the (empty) snapshot query and \`live\`;
for the other two their greeting and one answer.

Where the opening's time went: CPU time per socket opened, by process, over the same window
(from \`/proc/<pid>/stat\`; 10 ms ticks; "other" is every other process on the machine, this
benchmark's own included). On ${cpus().length} cores the wall time cannot be below the sum divided
by ${cpus().length}.

| CPU per socket, ms | ${CPU_GROUPS.join(' | ')} | sum |
|---|${CPU_GROUPS.map(() => '---|').join('')}---|
| gateway | ${cpuRow(gateway)} |
| Hono + node-ws alone | ${cpuRow(hono)} |
| bare \`ws\` | ${cpuRow(bare)} |
`;
    const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'not delivered');
    const memory = gateway.length === 0 ? '' : memorySection();
    const md = `# Connection cost: one gateway vs a bare \`ws\` server

${generatedBy('bench:connections')}.
Machine: ${machine()}.
1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${cpus().length} cores (shared with other work).

${memory}${
  phases.length === 0
    ? ''
    : `
## Latency for other clients while the gateway holds ${args.hold} sockets

${args.active} clients subscribed to everything, ${args.rate} changes/s written with the worker's fan-out
script (${args.rate * args.active} deliveries/s), ${args.seconds} s per phase; the rest of the sockets are idle
subscribers as above. Phases alternate between ${args.base} and ${args.hold} sockets held in all. Latency
runs from the write to Redis to the client's frame, on one clock; a change not delivered
within its phase (plus 1 s) counts as infinitely late, so a gateway that falls behind cannot
report the latency of the few changes it did deliver.

| sockets held | p50, ms | p99, ms | max, ms | deliveries | gateway RSS, MB |
|---|---|---|---|---|---|
${phases.map((p) => `| ${p.held} | ${ms(p.p50)} | ${ms(p.p99)} | ${ms(p.max)} | ${p.samples} / ${args.seconds * args.rate * args.active} | ${(p.rss / 2 ** 20).toFixed(0)} |`).join('\n')}
| **p99 at ${args.hold} / p99 at ${args.base}** (medians) | | **${p99Growth.toFixed(2)}×** | | | target ≤ ${TARGET_P99_GROWTH}× ${mark(p99Growth <= TARGET_P99_GROWTH)} |
`
}`;
    log(`wrote ${await writeResult(`${args.out}.md`, md)}`);
    await writeResult(
      `${args.out}.json`,
      `${JSON.stringify({ gateway, hono, bare, phases, memoryRatio, openRatio, floor, aboveFloor, p99Growth, loadBefore, loadAfter, config: args }, null, 2)}\n`,
    );
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await ground.drop();
  }
}

runBench(main, log, children);
