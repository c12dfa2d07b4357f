/**
 * Gateway fan-out and latency of two checkouts, measured in one run on one machine: rounds
 * alternate base, head, base, head … and each pair gives a ratio, so a machine whose speed
 * drifts (it is shared) moves both sides of a pair alike. Each side runs its own
 * `gateway/bench/run.ts` and its figures are read from the gateway.json it writes into its
 * own checkout (which that run overwrites).
 *
 *   npm run bench:gateway:ab -- --base <checkout> --head <checkout> [--rounds 3 --clients 200 --fanout-clients 200]
 *
 * Both checkouts need `npm ci`; the native stack must be up. Writes bench/results/gateway-ab.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    head: { type: 'string', default: '.' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '200' },
    customers: { type: 'string', default: '20' },
    burst: { type: 'string', default: '500' },
    'fanout-clients': { type: 'string', default: '200' },
    'fanout-rounds': { type: 'string', default: '3' },
  },
});
if (args.base === undefined)
  throw new Error('--base <checkout> is required (the version to compare against)');
const sides = { base: resolve(args.base), head: resolve(args.head) };
const rounds = Number(args.rounds);

/** The checkout's commit, so the report names versions rather than local paths. */
function commitOf(dir: string): string {
  const git = (...argv: string[]) => execFileSync('git', ['-C', dir, ...argv], { encoding: 'utf8' }).trim();
  try {
    const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'gateway', 'worker') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'unknown commit';
  }
}
const commits = { base: commitOf(sides.base), head: commitOf(sides.head) };

interface Figures {
  /** Fan-out of one gateway process, deliveries/s (median of the side's own rounds). */
  deliveriesPerSecond: number;
  /** The same over a bare `ws` loop corked per batch, measured in the same side's run. */
  ratioToBare: number;
  /** Kafka → client latency p99, ms. */
  p99Ms: number;
}

const benchArgs = [
  '--rate',
  args.rate,
  '--seconds',
  args.seconds,
  '--warmup',
  '2',
  '--clients',
  args.clients,
  '--customers',
  args.customers,
  '--burst',
  args.burst,
  '--fanout-clients',
  args['fanout-clients'],
  '--rounds',
  args['fanout-rounds'],
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const spread = (xs: number[], digits: number) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

async function runSide(dir: string): Promise<Figures> {
  const started = Date.now();
  const results = join(dir, 'bench', 'results', 'gateway.json');
  const bench = spawn(process.execPath, ['--import', 'tsx', 'gateway/bench/run.ts', ...benchArgs], {
    cwd: join(dir),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise<number | null>((resolveExit) => bench.once('exit', resolveExit));
  if ((statSync(results, { throwIfNoEntry: false })?.mtimeMs ?? 0) < started)
    throw new Error(`the benchmark in ${dir} ended (${code}) without writing its results`);
  const json = JSON.parse(readFileSync(results, 'utf8')) as {
    latency: { p99: number };
    gatewayRates: number[];
    corkedRates: number[];
  };
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
async function measure(dir: string): Promise<Figures> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runSide(dir);
    } catch (error) {
      if (attempt >= 3) throw error;
      retries++;
      process.stdout.write(`[gateway-ab] ${String(error)}; running that side again\n`);
    }
  }
}

const loadBefore = loadavg()[0] ?? 0;
const pairs: { base: Figures; head: Figures }[] = [];
for (let i = 0; i < rounds; i++) {
  process.stdout.write(`[gateway-ab] round ${i + 1}/${rounds}: base\n`);
  const base = await measure(sides.base);
  process.stdout.write(`[gateway-ab] round ${i + 1}/${rounds}: head\n`);
  const head = await measure(sides.head);
  pairs.push({ base, head });
  process.stdout.write(
    `[gateway-ab] round ${i + 1}: deliveries/s ${Math.round(base.deliveriesPerSecond)} → ${Math.round(head.deliveriesPerSecond)}, p99 ${base.p99Ms.toFixed(1)} → ${head.p99Ms.toFixed(1)} ms\n`,
  );
}
const loadAfter = loadavg()[0] ?? 0;

const fanoutRatios = pairs.map((p) => p.head.deliveriesPerSecond / p.base.deliveriesPerSecond);
const normalisedRatios = pairs.map((p) => p.head.ratioToBare / p.base.ratioToBare);
const rows = pairs
  .map(
    (p, i) =>
      `| ${i + 1} | ${Math.round(p.base.deliveriesPerSecond).toLocaleString('en')} | ${Math.round(p.head.deliveriesPerSecond).toLocaleString('en')} | ${(fanoutRatios[i] ?? 0).toFixed(2)} | ${p.base.ratioToBare.toFixed(2)} | ${p.head.ratioToBare.toFixed(2)} | ${p.base.p99Ms.toFixed(1)} | ${p.head.p99Ms.toFixed(1)} |`,
  )
  .join('\n');
const within = median(fanoutRatios) >= 0.9;
const report = `# Gateway: two versions side by side

Generated by \`npm run bench:gateway:ab -- --base <checkout of ${commits.base}> --head <checkout of ${commits.head}> --rounds ${rounds} --rate ${args.rate} --seconds ${args.seconds} --clients ${args.clients} --customers ${args.customers} --burst ${args.burst} --fanout-clients ${args['fanout-clients']} --fanout-rounds ${args['fanout-rounds']}\`
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
writeFileSync(join(import.meta.dirname, 'results', 'gateway-ab.md'), report);
process.stdout.write(report);
