/**
 * Two Debezium connector settings side by side: the e2e benchmark's pipeline and writer (its
 * own database, connector, slot and topic; single-row UPDATEs at a steady rate), with the
 * connector reconfigured between rounds (base, head, base, head …). Measured is what such
 * settings can change: PostgreSQL commit → a kafkajs consumer of the Debezium topic (the
 * receive time minus the commit time, `source.ts_ms`, on one host's clock). Everything after
 * Kafka (worker, Redis, gateways) is the same code on either side and is left out, so their
 * noise does not bury the difference. Only this benchmark's connector restarts; connector
 * settings that need the Connect worker itself reconfigured cannot be compared here.
 *
 *   npm run bench:connector:ab -- --base producer.override.linger.ms=5 --head producer.override.linger.ms=0 \
 *     [--rate 300 --seconds 10 --warmup 3 --rounds 3 --out connector-ab.md]
 *
 * Writes bench/results/connector-ab.md (or --out).
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTestPipeline, envPairs, medianOf, summarize } from '@orders/test-harness';
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { MsHistogram } from './ms-histogram.ts';
import { seedOrders, writeAt } from './writer.ts';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string', multiple: true, default: [] },
    head: { type: 'string', multiple: true, default: [] },
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: 'connector-ab.md' },
  },
});
const settings = { base: envPairs(args.base, '--base'), head: envPairs(args.head, '--head') };
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
const log = (line: string) => process.stdout.write(`[connector-ab] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type SideName = 'base' | 'head';
interface Figures {
  p50: number;
  p99: number;
  max: number;
  received: number;
  measured: number;
}

const pipeline = await createTestPipeline({ partitions: 6, connectorOverrides: settings.base });
const sql = postgres(pipeline.databaseUrl, { max: 8, onnotice: () => {} });
const kafka = new Kafka({
  clientId: `${pipeline.ns}-ab`,
  brokers: pipeline.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({ groupId: `${pipeline.ns}-ab`, maxWaitTimeInMs: 1_000 });
const admin = kafka.admin();

/** Changes committed at or after `from` (ms) land in `window`; the latest commit seen is kept. */
let window: { from: number; histogram: MsHistogram; received: number } | undefined;
let latestCommit = 0;

try {
  await admin.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: pipeline.topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachMessage: async ({ message }) => {
      const now = Date.now();
      if (message.value === null) return;
      const envelope = JSON.parse(message.value.toString()) as { source?: { ts_ms?: number } };
      const committed = envelope.source?.ts_ms;
      if (committed === undefined) return;
      latestCommit = Math.max(latestCommit, committed);
      if (window !== undefined && committed >= window.from) {
        window.histogram.add(now - committed);
        window.received++;
      }
    },
  });
  await seedOrders(sql);

  /** Reconfigures the connector, then waits until a change committed afterwards arrives. */
  const use = async (side: SideName) => {
    const since = Date.now();
    await pipeline.reconfigure(settings[side]);
    const deadline = Date.now() + 120_000;
    while (latestCommit <= since) {
      if (Date.now() > deadline) throw new Error(`no change arrived after switching to ${side}`);
      await sql`update orders set version = version where id = 1`;
      await sleep(250);
    }
  };

  const round = async (side: SideName): Promise<Figures> => {
    await use(side);
    const histogram = new MsHistogram();
    let from = 0;
    const writes = await writeAt(sql, RATE, WARMUP, SECONDS, () => {
      from = Date.now();
      window = { from, histogram, received: 0 };
    });
    const deadline = Date.now() + 30_000;
    while ((window?.received ?? 0) < writes.measured && Date.now() < deadline) await sleep(100);
    const received = window?.received ?? 0;
    window = undefined;
    return {
      p50: histogram.percentile(50),
      p99: histogram.percentile(99),
      max: histogram.percentile(100),
      received,
      measured: writes.measured,
    };
  };

  const loadBefore = loadavg();
  const pairs: Record<SideName, Figures>[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const base = await round('base');
    log(
      `round ${i + 1}/${ROUNDS} base: p50 ${base.p50} ms, p99 ${base.p99} ms (${base.received}/${base.measured})`,
    );
    const head = await round('head');
    log(
      `round ${i + 1}/${ROUNDS} head: p50 ${head.p50} ms, p99 ${head.p99} ms (${head.received}/${head.measured})`,
    );
    pairs.push({ base, head });
  }
  const loadAfter = loadavg();

  const ratio = (p: Record<SideName, Figures>, key: 'p50' | 'p99') => p.head[key] / Math.max(1, p.base[key]);
  const p50Ratios = pairs.map((p) => ratio(p, 'p50'));
  const p99Ratios = pairs.map((p) => ratio(p, 'p99'));
  const describe = (s: Record<string, string>) =>
    Object.keys(s).length === 0
      ? 'stack/connector.json as is'
      : Object.entries(s)
          .map(([k, v]) => `\`${k}=${v}\``)
          .join(', ');
  const rows = pairs
    .map(
      (p, i) =>
        `| ${i + 1} | ${p.base.p50} | ${p.head.p50} | ${(p50Ratios[i] ?? 0).toFixed(2)} | ${p.base.p99} | ${p.head.p99} | ${(p99Ratios[i] ?? 0).toFixed(2)} | ${p.base.received}/${p.base.measured} | ${p.head.received}/${p.head.measured} |`,
    )
    .join('\n');
  const command = ['npm run bench:connector:ab --', ...process.argv.slice(2)].join(' ');
  const report = `# Connector settings side by side: commit → Kafka consumer

Generated by \`${command}\` on ${new Date().toISOString()};
${cpus().length} cores, load average (1/5/15 min) ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} before,
${loadAfter.map((l) => l.toFixed(1)).join(' / ')} after. The machine is shared: read the ratios.

Base: ${describe(settings.base)}. Head: ${describe(settings.head)} (each on top of stack/connector.json).
One private connector, reconfigured before every round (base, head, base, head …); each round
writes single-row UPDATEs at ${RATE}/s for ${WARMUP} s of warm-up and ${SECONDS} s measured. Latency:
a kafkajs consumer's receive time minus the change's commit time (\`source.ts_ms\`), ms.

| round | base p50 | head p50 | head / base | base p99 | head p99 | head / base | base received | head received |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows}

Ratio head / base, median (min–max): p50 **${summarize(p50Ratios, 2)}**, p99 **${summarize(p99Ratios, 2)}**.
Medians: base p50 ${medianOf(pairs.map((p) => p.base.p50))} ms, p99 ${medianOf(pairs.map((p) => p.base.p99))} ms; head p50 ${medianOf(pairs.map((p) => p.head.p50))} ms, p99 ${medianOf(pairs.map((p) => p.head.p99))} ms.
`;
  await writeFile(`${resultsDir}${args.out}`, report);
  process.stdout.write(report);
} finally {
  await consumer.disconnect().catch(() => {});
  await admin.deleteGroups([`${pipeline.ns}-ab`]).catch(() => {});
  await admin.disconnect().catch(() => {});
  await sql.end({ timeout: 5 }).catch(() => {});
  await pipeline.close();
}
process.exit(0);
