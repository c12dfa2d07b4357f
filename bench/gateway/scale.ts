/**
 * One gateway holding many sockets: what each costs, how fast they open, and what holding them
 * does to other clients' latency and to the gateway's event loop.
 * Writes bench/results/scale.md and scale.json (or `--out <name>`) at the repository root.
 *
 * The gateway is one process, built as production runs it, with its caps raised for the run. Idle sockets come from holder
 * processes (connection-holder.ts), each leaving from a loopback address of its own
 * (127.0.0.2, 127.0.0.3, …) so ephemeral ports do not run out; each socket holds one
 * subscription that matches nothing. `--active` clients in this process are subscribed to
 * everything while changes are written with the worker's fan-out script at `--rate`.
 *
 * Every size of `--sizes` is held in each of `--rounds` rounds, ascending in odd rounds and
 * descending in even ones, so each size is measured in phases spread over the whole run. Per
 * phase: the gateway's settled RSS (after forced collections) and the sockets it counts; the
 * opening rate when the phase grew; p50/p99 of the active clients' latency from the write to
 * their frame over `--seconds`; and the gateway's event-loop delay over the phase.
 *
 *   npm run bench:scale [-- --sizes 1000,5000,10000,19000 --rounds 4 --active 20 --rate 1000 --seconds 10]
 *
 * A socket is a file descriptor on both ends: the gateway needs its open-files limit above the
 * largest size, and every holder above its share (`--per-holder`).
 */

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  benchGround,
  buildGateway,
  createLatencyDriver,
  gatewayConnections,
  type Holder,
  memoryOf,
  socketUrl,
  spawnMeasuredGateway,
  startHolder,
} from './load-kit.ts';
import { percentile } from './percentile.ts';

const TARGET_P99_GROWTH = 1.5;

/** The sizes the benchmark is meant to reach; those a run leaves out are named in its results. */
const DEFAULT_SIZES = '1000,10000,25000,50000';
/** The deployment the projection sizes. */
const PROJECTED_SOCKETS = 1_000_000;

const args = benchOptions({
  sizes: DEFAULT_SIZES,
  rounds: 4,
  active: 20,
  rate: 1000,
  seconds: 10,
  window: 100,
  'per-holder': 10_000,
  /** Stream appends/s one Redis hash slot takes on this machine (`npm run bench:redis`, bench/results/redis.md). */
  'redis-appends': 125_000,
  out: 'scale',
});
const log = benchLog('scale');
const children: ChildProcess[] = [];

const sizes = args.sizes.split(',').map((s) => Number(s.trim()));
if (sizes.some((s) => !Number.isInteger(s) || s <= args.active))
  throw new Error(`--sizes are socket counts above --active (${args.active}): ${args.sizes}`);
const largest = Math.max(...sizes);

/** This process's open-files limits, soft and hard; the gateway and the holders inherit them. */
function openFilesLimits(): { soft: number; hard: number } {
  const line = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(
    readFileSync('/proc/self/limits', 'utf8'),
  );
  const value = (text: string | undefined) =>
    text === undefined || text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
  return { soft: value(line?.[1]), hard: value(line?.[2]) };
}

/** Room the gateway needs beside its sockets: Redis, PostgreSQL, logs, node itself. */
const OWN_FILES = 200;

interface Phase {
  round: number;
  size: number;
  /** RSS growth over the active-only gateway per idle socket; only when it grew into the phase. */
  rssPerSocket?: number;
  /** Sockets per second while growing into this phase; absent when it shrank. */
  openRate?: number;
  p50: number;
  p99: number;
  delivered: number;
  expected: number;
  loopDelay: { p50: number; p99: number; max: number };
}

/** Idle sockets spread over the holders, each filled up to `--per-holder` before the next. */
function idlePool(holders: Holder[], url: () => Promise<string>) {
  const open = holders.map(() => 0);
  return {
    get total() {
      return open.reduce((a, b) => a + b, 0);
    },
    async resize(target: number): Promise<void> {
      const work: Promise<{ open: number }>[] = [];
      for (const [i, holder] of holders.entries()) {
        const share = Math.max(0, Math.min(args['per-holder'], target - i * args['per-holder']));
        const have = open[i] ?? 0;
        if (share > have) work[i] = holder.open(await url(), share - have);
        else if (share < have) work[i] = holder.close(have - share);
      }
      for (const [i, answer] of (await Promise.all(work)).entries()) if (answer) open[i] = answer.open;
    },
  };
}

async function main() {
  const limit = openFilesLimits().soft;
  if (largest + OWN_FILES > limit)
    throw new Error(
      `holding ${largest} sockets needs an open-files limit above ${largest + OWN_FILES}; this shell allows ${limit} ` +
        `(raise it with ulimit -n, or pass smaller --sizes)`,
    );
  if (args['per-holder'] + OWN_FILES > limit)
    throw new Error(`--per-holder ${args['per-holder']} exceeds the open-files limit ${limit}`);

  const loadBefore = load1();
  const ground = await benchGround('benchscale');
  const { redis } = ground;
  const keys = redisKeys(ground.ns);
  buildGateway();
  const gw: GatewayProcess = await spawnMeasuredGateway(`${ground.ns}-gw`, ground.gatewayEnv(largest * 2));
  children.push(gw.child);
  const pid = gw.child.pid ?? 0;
  const holders = Array.from({ length: Math.ceil(largest / args['per-holder']) }, (_, i) => {
    const holder = startHolder(args.window, `127.0.0.${2 + i}`);
    children.push(holder.child);
    return holder;
  });
  const url = () => socketUrl(gw);
  const idle = idlePool(holders, url);
  const driver = createLatencyDriver(redis, keys, 'bench-scale', args.rate);
  const phases: Phase[] = [];
  try {
    const stopActive = await activeClients(await url(), args.active, driver.arrived);
    await driver.drive(2); // warm-up: compiled code and lazily built structures
    const base = await memoryOf(pid);
    log(`gateway with ${args.active} active clients: ${(base.rss / 2 ** 20).toFixed(0)} MB RSS`);
    for (let round = 1; round <= args.rounds; round++) {
      const order = round % 2 === 1 ? [...sizes].sort((a, b) => a - b) : [...sizes].sort((a, b) => b - a);
      for (const size of order) {
        const growing = size - args.active > idle.total;
        const from = idle.total;
        const started = performance.now();
        await idle.resize(size - args.active);
        const openMs = performance.now() - started;
        await until(
          async () => (await gatewayConnections(gw.port)) === size,
          `gateway holding ${size} sockets`,
          120_000,
        );
        const held = await memoryOf(pid);
        await driver.drive(1);
        driver.startSamples();
        await driver.drive(args.seconds);
        await sleep(1000);
        const expected = args.seconds * args.rate * args.active;
        const { samples, delivered } = driver.takeSamples(expected);
        const after = await memoryOf(pid);
        const phase: Phase = {
          round,
          size,
          // A process keeps the memory of closed sockets: after shrinking, RSS says little.
          ...(growing
            ? {
                rssPerSocket: (held.rss - base.rss) / (size - args.active),
                openRate: ((idle.total - from) / openMs) * 1000,
              }
            : {}),
          p50: percentile(samples, 50),
          p99: percentile(samples, 99),
          delivered,
          expected,
          loopDelay: after.loopDelay,
        };
        phases.push(phase);
        log(
          `round ${round}, ${size} sockets: ` +
            `${phase.openRate === undefined ? 'shrunk' : `${((phase.rssPerSocket ?? 0) / 1024).toFixed(1)} KB/socket, ${phase.openRate.toFixed(0)} opened/s`}, ` +
            `p50 ${phase.p50.toFixed(1)} ms, p99 ${phase.p99.toFixed(1)} ms (${delivered}/${expected}), ` +
            `loop delay p99 ${phase.loopDelay.p99.toFixed(1)} ms`,
        );
      }
    }
    stopActive();
    await idle.resize(0);
    const loadAfter = load1();
    await report(phases, loadBefore, loadAfter, base.rss);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await ground.drop();
  }
}

async function report(phases: Phase[], loadBefore: number, loadAfter: number, baseRss: number) {
  const smallest = Math.min(...sizes);
  const of = (size: number) => phases.filter((p) => p.size === size);
  /** Median (min–max) of `pick` over the size's phases that have it; '-' when none has. */
  const cell = (size: number, pick: (p: Phase) => number | undefined, digits: number) => {
    const values = of(size).flatMap((p) => pick(p) ?? []);
    return values.length === 0 ? '-' : formatSpread(spread(values), digits);
  };
  const p99At = (size: number) => spread(of(size).map((p) => p.p99)).median;
  const fmt = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : 'not delivered');
  const growth = p99At(largest) / p99At(smallest);
  const met = growth <= TARGET_P99_GROWTH ? '✅ met' : '❌ missed';
  const rows = [...sizes]
    .sort((a, b) => a - b)
    .map((size) =>
      [
        size,
        of(size).length,
        cell(size, (p) => (p.rssPerSocket === undefined ? undefined : p.rssPerSocket / 1024), 1),
        cell(size, (p) => p.openRate, 0),
        cell(size, (p) => p.p50, 1),
        cell(size, (p) => p.p99, 1),
        cell(size, (p) => p.loopDelay.p99, 1),
      ].join(' | '),
    )
    .map((row) => `| ${row} |`);
  const md = `# Scale: one gateway holding up to ${largest} sockets

${generatedBy('bench:scale')}.
Machine: ${machine()}.
1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${cpus().length} cores (shared with other work).

${args.rounds} rounds over ${sizes.join(', ')} sockets (ascending, then descending, alternately); per size the
median (min–max) of its phases. ${args.active} clients subscribed to everything, ${args.rate} changes/s written with
the worker's fan-out script (${args.rate * args.active} deliveries/s), ${args.seconds} s per phase; the other sockets are idle
subscribers (\`ids: [999999]\`) held by ${Math.ceil(largest / args['per-holder'])} holder process(es), each from a loopback address of its own.
The gateway's RSS with only the active clients was ${(baseRss / 2 ** 20).toFixed(0)} MB; RSS per socket is the growth over
that, after forced collections, divided by the idle sockets, in phases the gateway grew into
(a process keeps the memory of closed sockets); the opening rate is from those phases too. Latency runs from the write to Redis to
the client's frame on one clock; a change not delivered within its phase (plus 1 s) counts as
infinitely late. Event-loop delay is the gateway's own (\`monitorEventLoopDelay\`, the excess over its
10 ms sampling interval), over the phase.

| sockets | phases | RSS per socket, KB | opened per s | p50, ms | p99, ms | event-loop delay p99, ms |
|---|---|---|---|---|---|---|
${rows.join('\n')}

**p99 at ${largest} / p99 at ${smallest}** (medians): **${fmt(growth)}×**, target ≤ ${TARGET_P99_GROWTH}× ${met}.

## Every phase

| round | sockets | KB/socket | opened/s | p50, ms | p99, ms | delivered | loop delay p50/p99/max, ms |
|---|---|---|---|---|---|---|---|
${phases
  .map(
    (p) =>
      `| ${p.round} | ${p.size} | ${p.rssPerSocket === undefined ? '-' : (p.rssPerSocket / 1024).toFixed(1)} | ${p.openRate?.toFixed(0) ?? '-'} | ${fmt(p.p50)} | ${fmt(p.p99)} | ${p.delivered} / ${p.expected} | ${p.loopDelay.p50.toFixed(1)} / ${p.loopDelay.p99.toFixed(1)} / ${p.loopDelay.max.toFixed(1)} |`,
  )
  .join('\n')}
${unreachedSection()}${projectionSection(phases, baseRss)}`;
  log(`wrote ${await writeResult(`${args.out}.md`, md)}`);
  await writeResult(
    `${args.out}.json`,
    `${JSON.stringify({ phases, growth, loadBefore, loadAfter, baseRss, config: args }, null, 2)}\n`,
  );
}

/** "a, b and c". */
const listed = (values: number[]): string =>
  values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} and ${values.at(-1)}`;

/** The default sizes this run left out, and whether this machine's limits allow them at all. */
function unreachedSection(): string {
  const left = DEFAULT_SIZES.split(',')
    .map(Number)
    .filter((size) => !sizes.includes(size));
  if (left.length === 0) return '';
  const { soft, hard } = openFilesLimits();
  const beyondHard = left.filter((size) => size + OWN_FILES > hard);
  const reason =
    beyondHard.length === 0
      ? `this run chose smaller \`--sizes\`; the open-files limits here (soft ${soft}, hard ${hard}) allow them after \`ulimit -n ${Math.max(...left) + OWN_FILES}\`.`
      : `a socket is a file descriptor in the gateway process, and this machine's open-files hard limit is ${hard} (\`ulimit -Hn\`; raising it needs a privilege the process may not have). ${listed(beyondHard)} sockets need more than that (the gateway keeps about ${OWN_FILES} files of its own). On a machine that allows it, \`ulimit -n ${Math.max(...left) + OWN_FILES}\` and the default sizes run them.`;
  return `
## Sizes this run did not reach

The benchmark's default sizes are ${listed(DEFAULT_SIZES.split(',').map(Number))}; ${listed(left)} ${left.length === 1 ? 'was' : 'were'} not run: ${reason}
`;
}

/**
 * What ${PROJECTED_SOCKETS} sockets would take, computed from this run's largest size and from the
 * smallest number of sockets per gateway that kept the p99 within the target.
 */
function projectionSection(phases: Phase[], baseRss: number): string {
  const of = (size: number) => phases.filter((p) => p.size === size);
  const median = (values: number[]) => spread(values).median;
  const smallest = Math.min(...sizes);
  const baseP99 = median(of(smallest).map((p) => p.p99));
  const perSocketAt = (size: number) => {
    const values = of(size).flatMap((p) => (p.rssPerSocket === undefined ? [] : [p.rssPerSocket]));
    return values.length === 0 ? Number.NaN : median(values);
  };
  const perSocket = perSocketAt(largest);
  const within = [...sizes]
    .sort((a, b) => b - a)
    .find((size) => median(of(size).map((p) => p.p99)) / baseP99 <= TARGET_P99_GROWTH);
  const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
  const plan = (perGateway: number) => {
    const gateways = Math.ceil(PROJECTED_SOCKETS / perGateway);
    const p99 = median(of(perGateway).map((p) => p.p99));
    const changes = Math.floor(args['redis-appends'] / (1 + gateways));
    return `- **${perGateway} sockets per gateway** (p99 ${p99.toFixed(1)} ms here, ${(p99 / baseP99).toFixed(2)}× the ${smallest}-socket value): ${gateways} gateways; socket state ${gb(PROJECTED_SOCKETS * perSocket)} plus ${(baseRss / 2 ** 20).toFixed(0)} MB per gateway (${gb(gateways * baseRss)} in all); one Redis hash slot then carries about ${changes} changes/s (every change is 1 + G stream appends).`;
  };
  return `
## A ${PROJECTED_SOCKETS.toLocaleString('en')}-socket deployment, projected

Computed from this run: RSS per socket at ${largest} sockets (${(perSocket / 1024).toFixed(1)} KB, the median of the phases that grew into it), the gateway's RSS with only its active clients, each size's p99, and \`--redis-appends\` (${args['redis-appends']} stream appends/s on one hash slot, from \`npm run bench:redis\`). Everything beyond ${largest} sockets per gateway and beyond one gateway is extrapolated; none of it ran at that size.

${plan(largest)}
${within !== undefined && within !== largest ? `${plan(within)}\n` : ''}- Beyond one hash slot's appends, shard groups (\`REDIS_SHARDS\`) split them by Kafka partition, each group on a slot (on a cluster, a master) of its own; the orders topic's partitions bound the groups. Each gateway's stream reads also cost Redis, not counted here.
`;
}

runBench(main, log, children);
