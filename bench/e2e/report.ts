/** bench/results/e2e.md (and the numbers behind it) from the rounds of one run. */
import { MsHistogram, SplitByTotal } from './ms-histogram.ts';
import { add, type Buckets, maxBoundMs, observations, quantileMs, topBoundMs } from './prometheus.ts';
import type { WriteRun } from './writer.ts';

export type Side = 'pipeline' | 'direct';

export const STAGES = [
  {
    name: 'commitToKafka',
    label: 'commit → Kafka record (Debezium)',
    metric: 'worker_commit_to_kafka_seconds',
  },
  {
    name: 'kafkaToRedis',
    label: 'Kafka record → Redis append (worker)',
    metric: 'worker_forward_latency_seconds',
  },
  { name: 'redisToRead', label: 'Redis append → gateway read', metric: 'gateway_redis_to_read_seconds' },
  { name: 'readToWrite', label: 'gateway read → socket write', metric: 'gateway_read_to_write_seconds' },
] as const;

export type StageName = (typeof STAGES)[number]['name'];

export interface Round {
  side: Side;
  rate: number;
  writes: WriteRun;
  deliveries: number;
  expectedDeliveries: number;
  /** Pipeline rounds: `reset` frames the clients got while measuring (a reset client misses changes until its snapshot). */
  resets: number;
  /** Pipeline rounds: changes that skipped a version, or repeated one, on some socket (see clients.ts). */
  gaps: number;
  repeats: number;
  /** Time after the last write until every measured change had arrived (or the drain limit). */
  drainMs: number;
  total: MsHistogram;
  beforeRedis: MsHistogram;
  afterRedis: MsHistogram;
  split: SplitByTotal;
  /** Pipeline rounds: the stage histograms' observations during the measured window. */
  stages: Record<StageName, Buckets> | undefined;
  /**
   * Pipeline rounds, summed over the gateways: change frames a lagging socket never got because
   * a newer one for the same order replaced them, and sockets cut off as too slow.
   */
  dropped: { conflated: number; slowConsumers: number } | undefined;
  /** 1-minute load average at the start and end of the round. */
  load: [number, number];
}

export interface Report {
  /** The command line that produced it. */
  command: string;
  generatedAt: string;
  machine: { cores: number; model: string; node: string };
  loadBefore: number[];
  loadAfter: number[];
  config: {
    rates: number[];
    clients: number;
    seconds: number;
    warmup: number;
    rounds: number;
    drain: number;
    orders: number;
  };
  rounds: Round[];
}

/** The pipeline's commit → client p99 against the direct design's, same run: ahead by a fifth. */
const TARGET_RATIO = 0.8;
const TARGET_P99_MS = 100;
const TARGET_RATE = 1_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const ms = (v: number): string => (Number.isFinite(v) ? `${Number.isInteger(v) ? v : v.toFixed(1)} ms` : '–');
const mark = (met: boolean): string => (met ? '**met**' : '**missed**');

interface SideSummary {
  p50: number;
  p99: number;
  max: number;
  p99s: number[];
  /**
   * Every measured change reached every client in every round. When not, the changes still
   * missing would have been the slowest, so the percentiles are only lower bounds.
   */
  complete: boolean;
  /** Lowest share of the expected deliveries that arrived in a round. */
  delivered: number;
}

const complete = (r: Round): boolean => r.deliveries >= r.expectedDeliveries;

function summarize(rounds: Round[]): SideSummary {
  const p99s = rounds.map((r) => r.total.percentile(99));
  return {
    p50: median(rounds.map((r) => r.total.percentile(50))),
    p99: median(p99s),
    max: median(rounds.map((r) => r.total.percentile(100))),
    p99s,
    complete: rounds.every(complete),
    delivered: Math.min(...rounds.map((r) => Math.min(1, r.deliveries / r.expectedDeliveries))),
  };
}

/** A latency, prefixed with ≥ when deliveries were missing (a lower bound). */
const bound = (v: number, isComplete: boolean): string => `${isComplete ? '' : '≥ '}${ms(v)}`;

/**
 * Pipeline p99 ≤ ratio × direct p99 can only be claimed when the pipeline's figure is complete;
 * the direct one may be a lower bound, which only makes the claim safer.
 */
const ratioMet = (r: { pipeline: SideSummary; ratio: number }): boolean =>
  r.pipeline.complete && r.ratio <= TARGET_RATIO;

const spread = (values: number[]): string =>
  values.length === 0 ? '–' : `${Math.min(...values)}–${Math.max(...values)} ms`;

/** The numbers of the report, without the per-delivery histograms (for e2e.json). */
export function summary(report: Report) {
  return report.config.rates.map((rate) => {
    const pipeline = summarize(report.rounds.filter((r) => r.rate === rate && r.side === 'pipeline'));
    const direct = summarize(report.rounds.filter((r) => r.rate === rate && r.side === 'direct'));
    return { rate, pipeline, direct, ratio: pipeline.p99 / direct.p99 };
  });
}

function stageSection(report: Report, rate: number): string {
  const rounds = report.rounds.filter((r) => r.rate === rate && r.side === 'pipeline');
  if (rounds.length === 0) return '';
  const merged = (name: StageName): Buckets =>
    rounds.reduce<Buckets>((sum, r) => (r.stages ? add(sum, r.stages[name]) : sum), new Map());
  // Client-side distributions of all pipeline rounds at this rate, merged.
  const total = new MsHistogram();
  const before = new MsHistogram();
  const after = new MsHistogram();
  const split = new SplitByTotal();
  for (const r of rounds) {
    total.merge(r.total);
    before.merge(r.beforeRedis);
    after.merge(r.afterRedis);
    split.merge(r.split);
  }
  const lines = STAGES.map(({ name, label }) => {
    const b = merged(name);
    const top = topBoundMs(b);
    const fmt = (v: number) => (v === Number.POSITIVE_INFINITY ? `> ${ms(top)}` : ms(v));
    const max = maxBoundMs(b);
    return `| ${label} | ${fmt(quantileMs(b, 0.5))} | ${fmt(quantileMs(b, 0.99))} | ${Number.isFinite(max) ? `≤ ${ms(max)}` : fmt(max)} | histogram, ${observations(b)} changes |`;
  });
  const clientRow = (label: string, h: MsHistogram, source: string) =>
    `| ${label} | ${ms(h.percentile(50))} | ${ms(h.percentile(99))} | ${ms(h.percentile(100))} | ${source} |`;
  const p99 = total.percentile(99);
  const tail = split.tail(p99);
  const worst = split.tail(total.percentile(100));
  return `### ${rate} changes/s

| stage | p50 | p99 | max | from |
|---|---|---|---|---|
${lines.join('\n')}
${clientRow('commit → Redis append (stages 1 + 2)', before, 'client: frame `committedAt` vs cursor stream id')}
${clientRow('Redis append → client event (stages 3 + 4 + socket → client)', after, 'client: cursor stream id vs `Date.now()`')}
${clientRow('**commit → client**', total, 'client: frame `committedAt` vs `Date.now()`')}

Tail: the ${tail.n} deliveries at or above the p99 (${ms(p99)}) took ${ms(tail.total)} on average,
${ms(tail.beforeRedis)} of it before the Redis append (PostgreSQL → Debezium → Kafka → worker) and
${ms(tail.total - tail.beforeRedis)} after it (Redis → gateway → socket → client process).
${worst.n > 1 ? `The ${worst.n} slowest deliveries` : 'The slowest delivery'} (${ms(worst.total)}): ${ms(worst.beforeRedis)} before the Redis append, ${ms(worst.total - worst.beforeRedis)} after.
`;
}

/** Whether every pipeline socket got every version of every order, in order (see clients.ts). */
function deliveryCheck(rounds: Round[]): string {
  const pipeline = rounds.filter((r) => r.side === 'pipeline');
  const gaps = pipeline.reduce((n, r) => n + r.gaps, 0);
  const repeats = pipeline.reduce((n, r) => n + r.repeats, 0);
  const resets = pipeline.reduce((n, r) => n + r.resets, 0);
  const after = resets > 0 ? `, apart from ${resets} explicit resets` : '';
  return gaps + repeats === 0
    ? `no pipeline socket skipped a version of an order (but in changes marked \`conflated\`) or got one twice or out of order${after}.`
    : `**broken**: ${gaps} changes skipped a version without \`conflated\` and ${repeats} repeated or went back to a version the socket had${after}. The pipeline promises neither.`;
}

export function renderReport(report: Report): string {
  const { cores } = report.machine;
  const [load1 = 0, load5 = 0, load15 = 0] = report.loadBefore;
  const idle = load1 < cores * 0.25;
  const rows = summary(report);
  const allRatiosMet = rows.every(ratioMet);
  const atTarget = rows.find((r) => r.rate === TARGET_RATE);
  const absoluteMet = atTarget?.pipeline.complete === true && atTarget.pipeline.p99 <= TARGET_P99_MS;
  const c = report.config;
  return `# End-to-end benchmark: commit → client

Generated by \`${report.command}\` on ${report.generatedAt}.
Machine: ${cores} × ${report.machine.model}, Node ${report.machine.node}. Everything (PostgreSQL,
Kafka and Connect, Redis, worker, two gateways, the direct baseline and the client processes)
shares these ${cores} cores.

**Load** (\`os.loadavg()\`, 1/5/15 min): ${load1.toFixed(2)} / ${load5.toFixed(2)} / ${load15.toFixed(2)} before the run,
${report.loadAfter.map((l) => l.toFixed(2)).join(' / ')} after, on ${cores} cores. ${
    idle
      ? 'The machine was otherwise idle.'
      : `The machine was **not idle**: other work competed for the ${cores} cores, so absolute numbers are pessimistic; the same-run ratios are the meaningful part.`
  }

Shape: ${c.clients} clients per side, all subscribed to every change; writes are single-row
\`UPDATE\`s of ${c.orders} orders, one transaction each, at the given rate. Each round writes for
${c.warmup} s of warm-up plus ${c.seconds} s measured; ${c.rounds} rounds per side and rate, alternating
pipeline / direct (A B A B). Latency is the client's \`Date.now()\` minus the PostgreSQL commit time
the frame carries (\`committedAt\`; \`source.ts_ms\` in the direct design's raw envelope): the same
clocks for both sides, millisecond resolution.

## Targets

| target | result | |
|---|---|---|
${rows
  .map(
    (r) =>
      `| pipeline p99 ≤ ${TARGET_RATIO.toFixed(1)}× direct baseline at ${r.rate}/s | ${r.ratio.toFixed(2)}× (${bound(r.pipeline.p99, r.pipeline.complete)} vs ${bound(r.direct.p99, r.direct.complete)}) | ${mark(ratioMet(r))} |`,
  )
  .join('\n')}
| commit → client p99 ≤ ${TARGET_P99_MS} ms at ${TARGET_RATE}/s, otherwise idle machine | ${atTarget ? bound(atTarget.pipeline.p99, atTarget.pipeline.complete) : 'not run'} | ${atTarget ? mark(absoluteMet) : '–'}${idle ? '' : ' (machine not idle)'} |

Delivery check: ${deliveryCheck(report.rounds)}

Overall: ratio at every rate ${mark(allRatiosMet)}. "≥" marks a figure from rounds in which
not every measured change reached every client within ${c.drain} s of the last write: the missing ones
would have been the slowest, so the figure is a lower bound, and a ratio built on a pipeline
lower bound is not counted as met. When both sides are lower bounds (a saturated machine), the
ratio compares only the deliveries that made it and says little; the "delivered" column then
tells which side kept up better.

## Commit → client, pipeline vs direct baseline

Median over the rounds; spread is the lowest–highest p99 of the rounds.

| rate | pipeline p50 / p99 / max | direct p50 / p99 / max | p99 ratio | pipeline p99 spread | direct p99 spread | delivered (worst round) pipeline / direct |
|---|---|---|---|---|---|---|
${rows
  .map(
    (r) =>
      `| ${r.rate}/s | ${[r.pipeline.p50, r.pipeline.p99, r.pipeline.max].map((v) => bound(v, r.pipeline.complete)).join(' / ')} | ${[r.direct.p50, r.direct.p99, r.direct.max].map((v) => bound(v, r.direct.complete)).join(' / ')} | ${r.ratio.toFixed(2)}× | ${spread(r.pipeline.p99s)} | ${spread(r.direct.p99s)} | ${(r.pipeline.delivered * 100).toFixed(1)} % / ${(r.direct.delivered * 100).toFixed(1)} % |`,
  )
  .join('\n')}

### Every round

| rate | side | p50 | p99 | max | deliveries / expected | drain | writes/s achieved | load at start → end |
|---|---|---|---|---|---|---|---|---|
${report.rounds
  .map(
    (r) =>
      `| ${r.rate}/s | ${r.side} | ${ms(r.total.percentile(50))} | ${ms(r.total.percentile(99))} | ${ms(r.total.percentile(100))} | ${r.deliveries} / ${r.expectedDeliveries}${r.dropped && (r.dropped.conflated > 0 || r.dropped.slowConsumers > 0) ? ` (${r.dropped.conflated} conflated, ${r.dropped.slowConsumers} sockets cut off)` : ''}${r.resets > 0 ? ` (${r.resets} resets)` : ''}${r.gaps + r.repeats > 0 ? ` (**${r.gaps} version gaps, ${r.repeats} repeats**)` : ''} | ${(r.drainMs / 1000).toFixed(1)} s | ${Math.round(r.writes.achievedRate)}${r.writes.failed > 0 ? ` (${r.writes.failed} failed)` : ''} | ${r.load[0].toFixed(2)} → ${r.load[1].toFixed(2)} |`,
  )
  .join('\n')}

Deliveries count the changes committed after the warm-up (by their commit time), whenever they
arrive; the round waits after its last write until all of them arrived ("drain"), at most
${c.drain} s. Writes in flight at the end of the warm-up can add a few to the count. A gateway
never sends a lagging socket a change already replaced by a newer one for the same order
(conflation) and cuts off a socket that stays too far behind; the pipeline rows say how often
that happened in the window: those deliveries are missing by design, not late.

## Where the pipeline's milliseconds go

The four stages are the histograms every worker and gateway exports on \`/metrics\`
(\`${STAGES.map((s) => s.metric).join('`, `')}\`), scraped at the start and end of each
measured window and subtracted, summed over both gateways and the pipeline rounds of a rate.
Their p50/p99 are interpolated inside buckets and their max is the bound of the highest bucket
hit. "Kafka record" is the record timestamp set by Connect's producer when Debezium hands it the
change (CreateTime), so producer batching and the broker's append count in stage 2. The last
three rows are exact per delivery, from the fields of each change frame; "Redis append → client
event" also holds the time from the socket write to the client process handling the frame.

${c.rates.map((rate) => stageSection(report, rate)).join('\n')}
## The direct baseline

\`bench/e2e/direct-baseline.ts\`, a baseline only: one kafkajs consumer (kafkajs defaults, its own
group on the same topic) sending every raw Debezium envelope, as received, to every connected
\`ws\` client: no filtering, cursors, history, snapshots, authentication or backpressure. Both
designs run through the whole benchmark; only the side being measured has clients connected,
so the pipeline's worker and gateways keep forwarding (to no sockets) during direct rounds.
`;
}
