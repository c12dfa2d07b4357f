/**
 * Gateway fan-out and latency of two checkouts, measured in one run on one machine: rounds
 * alternate base, head, base, head … and each pair gives a ratio, so a machine whose speed
 * drifts (it is shared) moves both sides of a pair alike. Each side runs its own
 * `gateway/bench/run.ts` and its figures are read from the gateway.json it writes into its
 * own checkout (which that run overwrites).
 *
 *   npm run bench:gateway:ab -- --base <checkout> --head <checkout> [--rounds 3 --clients 200 --fanout-clients 200]
 *
 * Or one checkout with two settings: `--base-env KEY=value` and `--head-env KEY=value`
 * (repeatable) set the gateways' environment on each side; `--base` then defaults to `--head`.
 *
 *   npm run bench:gateway:ab -- --base-env STREAM_READ_COUNT=500 --head-env STREAM_READ_COUNT=100
 *
 * Both checkouts need `npm ci`; the native stack must be up. Writes bench/results/gateway-ab.md
 * (`--out <name>`: another file there).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { benchOptions } from '@orders/testing';
import { alternate, commitOf, median, runSide, spread } from './ab-support.ts';

const args = benchOptions({
  base: undefined,
  head: '.',
  rounds: 3,
  rate: 500,
  seconds: 5,
  clients: 200,
  customers: 20,
  burst: 500,
  'fanout-clients': 200,
  'fanout-rounds': 3,
  'base-env': [],
  'head-env': [],
  /** The report's file name in bench/results. */
  out: 'gateway-ab.md',
});
const envs = { base: args['base-env'], head: args['head-env'] };
const comparesSettings = envs.base.length + envs.head.length > 0;
const baseDir = args.base ?? (comparesSettings ? args.head : undefined);
if (baseDir === undefined)
  throw new Error('--base <checkout> is required (the version to compare against), or --base-env/--head-env');
const sides = { base: resolve(baseDir), head: resolve(args.head) };

const commits = {
  base: commitOf(sides.base, ['gateway', 'worker']),
  head: commitOf(sides.head, ['gateway', 'worker']),
};

interface Figures {
  /** Fan-out of one gateway process, deliveries/s (median of the side's own rounds). */
  deliveriesPerSecond: number;
  /** The same over a bare `ws` loop corked per batch, measured in the same side's run. */
  ratioToBare: number;
  /** Kafka → client latency p99, ms. */
  p99Ms: number;
}

const benchArgs = Object.entries({
  rate: args.rate,
  seconds: args.seconds,
  warmup: 2,
  clients: args.clients,
  customers: args.customers,
  burst: args.burst,
  'fanout-clients': args['fanout-clients'],
  rounds: args['fanout-rounds'],
}).flatMap(([name, value]) => [`--${name}`, String(value)]);

async function runGatewaySide(dir: string, env: readonly string[]): Promise<Figures> {
  const json = await runSide<{ latency: { p99: number }; gatewayRates: number[]; corkedRates: number[] }>({
    dir,
    script: 'gateway/bench/run.ts',
    args: [...benchArgs, ...env.flatMap((pair) => ['--gateway-env', pair])],
    results: 'bench/results/gateway.json',
  });
  // Computed here rather than read: older versions' own `ratio` is to the uncorked loop.
  const deliveriesPerSecond = median(json.gatewayRates);
  return {
    deliveriesPerSecond,
    ratioToBare: deliveriesPerSecond / median(json.corkedRates),
    p99Ms: json.latency.p99,
  };
}

/**
 * A side's run can fail on a starved machine (a gateway not ready within its start-up
 * timeout); it is run again rather than losing the whole comparison, and the report says so.
 */
let retries = 0;
async function measure(dir: string, env: readonly string[]): Promise<Figures> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runGatewaySide(dir, env);
    } catch (error) {
      if (attempt >= 3) throw error;
      retries++;
      process.stdout.write(`[gateway-ab] ${String(error)}; running that side again\n`);
    }
  }
}

const { pairs, loadBefore, loadAfter } = await alternate(
  'gateway-ab',
  args.rounds,
  sides,
  (dir, side) => measure(dir, envs[side]),
  ({ base, head }) =>
    `deliveries/s ${Math.round(base.deliveriesPerSecond)} → ${Math.round(head.deliveriesPerSecond)}, p99 ${base.p99Ms.toFixed(1)} → ${head.p99Ms.toFixed(1)} ms`,
);

const fanoutRatios = pairs.map((p) => p.head.deliveriesPerSecond / p.base.deliveriesPerSecond);
const normalisedRatios = pairs.map((p) => p.head.ratioToBare / p.base.ratioToBare);
const rows = pairs
  .map(
    (p, i) =>
      `| ${i + 1} | ${Math.round(p.base.deliveriesPerSecond).toLocaleString('en')} | ${Math.round(p.head.deliveriesPerSecond).toLocaleString('en')} | ${(fanoutRatios[i] ?? 0).toFixed(2)} | ${p.base.ratioToBare.toFixed(2)} | ${p.head.ratioToBare.toFixed(2)} | ${p.base.p99Ms.toFixed(1)} | ${p.head.p99Ms.toFixed(1)} |`,
  )
  .join('\n');
const within = median(fanoutRatios) >= 0.9;
const envArgs = (side: 'base' | 'head') => envs[side].map((pair) => ` --${side}-env ${pair}`).join('');
const sideNames = comparesSettings
  ? `--head <checkout of ${commits.head}>${envArgs('base')}${envArgs('head')}`
  : `--base <checkout of ${commits.base}> --head <checkout of ${commits.head}>`;
const report = `# Gateway: ${comparesSettings ? 'two settings' : 'two versions'} side by side

Generated by \`npm run bench:gateway:ab -- ${sideNames} --rounds ${args.rounds} --rate ${args.rate} --seconds ${args.seconds} --clients ${args.clients} --customers ${args.customers} --burst ${args.burst} --fanout-clients ${args['fanout-clients']} --fanout-rounds ${args['fanout-rounds']}\`
on ${new Date().toISOString()}; ${cpus().length} cores, 1-minute load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}.
Rounds alternate base, head; each is a whole \`gateway/bench/run.ts\` run (\`${benchArgs.join(' ')}\`):
fan-out of one gateway process to ${args['fanout-clients']} clients (median of its ${args['fanout-rounds']} bursts of ${args.burst}),
the same bytes over a bare \`ws\` loop corked per batch in that run (a yardstick under the same load),
and Kafka → client latency at ${args.rate} changes/s through the side's own worker and two gateways.

| round | base deliveries/s | head deliveries/s | head / base | base ÷ corked loop | head ÷ corked loop | base p99 (ms) | head p99 (ms) |
|---:|---:|---:|---:|---:|---:|---:|---:|
${rows}

Side runs that failed and were run again: ${retries}.

Fan-out ratio head / base, median (min–max): **${spread(fanoutRatios, 2)}**, ${within ? 'within' : 'outside'} 10% of the base
(target: ≥ 0.90). The same ratio taken against each run's corked loop: ${spread(normalisedRatios, 2)}.
Kafka → client latency p99, median (min–max): base ${spread(
  pairs.map((p) => p.base.p99Ms),
  1,
)} ms, head ${spread(
  pairs.map((p) => p.head.p99Ms),
  1,
)} ms.
`;
writeFileSync(join(import.meta.dirname, 'results', args.out), report);
process.stdout.write(report);
