/**
 * End-to-end benchmark on the native stack: PostgreSQL commit → client, this pipeline
 * (Debezium → Kafka → worker → Redis → two gateways) against the original direct design (one
 * kafkajs consumer broadcasting raw envelopes over `ws`, bench/e2e/direct-baseline.ts), fed by
 * the same writes on the same Debezium topic, in alternating rounds (A B A B…) per rate.
 * Writes bench/results/e2e.md (and e2e.json) at the repository root.
 *
 *   npm run bench:e2e [-- --quick] [-- --rates 100,300,1000 --clients 200 --seconds 15 --rounds 2]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  benchLog,
  benchOptions,
  createTestPipeline,
  devToken,
  dropRedisNamespace,
  freePort,
  runBench,
  sleep,
  stopChildren,
  type TestPipeline,
  until,
} from '@orders/test-harness';
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { createClient } from 'redis';
import type { ClientsCommand, ClientsReport } from './clients.ts';
import { MsHistogram, SplitByTotal } from './ms-histogram.ts';
import { add, type Buckets, parseBuckets, subtract } from './prometheus.ts';
import {
  type Report,
  type Round,
  renderReport,
  type Side,
  STAGES,
  type StageName,
  summary,
} from './report.ts';
import { ORDERS, seedOrders, writeAt } from './writer.ts';

const args = benchOptions({
  rates: '100,300,1000',
  clients: 200,
  seconds: undefined,
  warmup: undefined,
  rounds: undefined,
  drain: undefined,
  'client-processes': 2,
  quick: false,
});
const RATES = args.rates.split(',').map(Number);
const SECONDS = Number(args.seconds ?? (args.quick ? 6 : 15));
const WARMUP = Number(args.warmup ?? (args.quick ? 2 : 3));
const ROUNDS = Number(args.rounds ?? 2);
/** Longest wait, after the last write, for the measured changes to reach every client. */
const DRAIN_S = Number(args.drain ?? (args.quick ? 10 : 20));

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const here = fileURLToPath(new URL('./', import.meta.url));
const log = benchLog('bench:e2e');
const children: ChildProcess[] = [];

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

function tsxProcess(
  file: string,
  argv: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...argv], {
    cwd: options.cwd ?? repoRoot,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  children.push(child);
  return child;
}

/** Resolves with the child's next IPC message of `type`. */
function nextMessage<T extends { type: string }>(child: ChildProcess, type: T['type']): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) =>
      reject(new Error(`client process exited (${code}) before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

interface Gateway {
  port: number;
  url: string;
}

interface Services {
  pipeline: TestPipeline;
  sql: postgres.Sql;
  workerMetrics: string;
  gateways: Gateway[];
  directUrl: string;
}

/** A counter's value in Prometheus text (0 when absent). */
function counter(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

interface Scrape {
  stages: Record<StageName, Buckets>;
  /** Summed over the gateways: frames replaced by newer ones, sockets cut off as slow. */
  conflated: number;
  slowConsumers: number;
}

async function scrapeStages(s: Services): Promise<Scrape> {
  const [worker, ...gateways] = await Promise.all(
    [s.workerMetrics, ...s.gateways.map((g) => `http://127.0.0.1:${g.port}/metrics`)].map(async (url) =>
      (await fetch(url)).text(),
    ),
  );
  const fromGateways = (name: string) =>
    gateways.reduce<Buckets>((sum, text) => add(sum, parseBuckets(text, name)), new Map());
  const sum = (name: string) => gateways.reduce((n, text) => n + counter(text, name), 0);
  return {
    stages: {
      commitToKafka: parseBuckets(worker ?? '', 'worker_commit_to_kafka_seconds'),
      kafkaToRedis: parseBuckets(worker ?? '', 'worker_forward_latency_seconds'),
      redisToRead: fromGateways('gateway_redis_to_read_seconds'),
      readToWrite: fromGateways('gateway_read_to_write_seconds'),
    },
    conflated: sum('gateway_conflated_changes_total'),
    slowConsumers: sum('gateway_slow_consumers_total'),
  };
}

async function runRound(s: Services, side: Side, rate: number): Promise<Round> {
  const token = side === 'pipeline' ? await devToken(s.gateways[0]?.url ?? '') : '';
  const urls = side === 'pipeline' ? s.gateways.map((g) => `${g.url}?token=${token}`) : [s.directUrl];
  const processes: ChildProcess[] = [];
  for (let p = 0; p < args['client-processes']; p++) {
    const count =
      Math.floor(args.clients / args['client-processes']) +
      (p < args.clients % args['client-processes'] ? 1 : 0);
    // Each process spreads its sockets over the gateways, so both gateways get half.
    processes.push(tsxProcess(`${here}clients.ts`, [side, String(count), urls.join(',')]));
  }
  await Promise.all(processes.map((c) => nextMessage(c, 'ready')));
  const command = (message: ClientsCommand) => {
    for (const c of processes) c.send(message);
  };

  let before: Promise<Scrape> | undefined;
  const loadAtStart = loadavg()[0] ?? 0;
  // The clients learn when measuring starts before the first write. Told at the end of the
  // warm-up, a client process running behind its sockets read the message after frames of
  // changes already measured, and dropped them: the round then looked short of deliveries
  // that had all arrived. The writer reaches its first measured write no earlier than this
  // instant, and a write commits after it is issued (the same host's clock).
  const fromMs = Date.now() + WARMUP * 1000;
  command({ cmd: 'measure', fromMs });
  const writes = await writeAt(s.sql, rate, WARMUP, SECONDS, () => {
    if (side === 'pipeline') before = scrapeStages(s);
  });
  // Wait for every measured change to reach every client, so the percentiles are complete
  // (a few writes in flight at the boundary may also count, hence "at least").
  const expectedDeliveries = writes.measured * args.clients;
  const drainStart = performance.now();
  let delivered = 0;
  while (performance.now() - drainStart < DRAIN_S * 1000) {
    const counts = await Promise.all(
      processes.map((c) => {
        const reply = nextMessage<{ type: 'count'; deliveries: number }>(c, 'count');
        c.send({ cmd: 'count' } satisfies ClientsCommand);
        return reply;
      }),
    );
    delivered = counts.reduce((sum, c) => sum + c.deliveries, 0);
    if (delivered >= expectedDeliveries) break;
    await sleep(200);
  }
  const drainMs = performance.now() - drainStart;
  const after = side === 'pipeline' ? await scrapeStages(s) : undefined;
  const reports = await Promise.all(
    processes.map((c) => {
      const report = nextMessage<ClientsReport>(c, 'report');
      c.send({ cmd: 'report' } satisfies ClientsCommand);
      return report;
    }),
  );
  await Promise.all(
    processes.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
  );

  const total = new MsHistogram();
  const beforeRedis = new MsHistogram();
  const afterRedis = new MsHistogram();
  const split = new SplitByTotal();
  let deliveries = 0;
  let resets = 0;
  let gaps = 0;
  let repeats = 0;
  // Sockets short of the expected deliveries, per server: which gateway (or all) held changes back.
  const perClient = writes.measured;
  const short = reports
    .flatMap((r) => r.perServer.map((p, server) => ({ server, ...p })))
    .filter((p) => p.min < perClient);
  if (short.length > 0)
    log(
      `${side} ${rate}/s: sockets short of ${perClient} deliveries: ${short.map((p) => `server ${p.server}: ${p.sockets} sockets, ${p.min}–${p.max}`).join('; ')}`,
    );
  for (const r of reports) {
    resets += r.resets;
    gaps += r.gaps;
    repeats += r.repeats;
    total.merge(r.total);
    beforeRedis.merge(r.beforeRedis);
    afterRedis.merge(r.afterRedis);
    split.merge(r.split);
    deliveries += r.deliveries;
  }
  let stages: Record<StageName, Buckets> | undefined;
  let dropped: Round['dropped'];
  if (after !== undefined && before !== undefined) {
    const start = await before;
    stages = Object.fromEntries(
      STAGES.map(({ name }) => [name, subtract(after.stages[name], start.stages[name])]),
    ) as Record<StageName, Buckets>;
    dropped = {
      conflated: after.conflated - start.conflated,
      slowConsumers: after.slowConsumers - start.slowConsumers,
    };
  }
  return {
    side,
    rate,
    writes,
    deliveries,
    expectedDeliveries,
    resets,
    gaps,
    repeats,
    drainMs,
    total,
    beforeRedis,
    afterRedis,
    split,
    stages,
    dropped,
    load: [loadAtStart, loadavg()[0] ?? 0],
  };
}

async function main() {
  const loadBefore = loadavg();
  log('creating database, Debezium connector and topic');
  const pipeline = await createTestPipeline({ partitions: 6 });
  const ns = pipeline.ns;
  const kafka = new Kafka({
    clientId: 'bench-e2e',
    brokers: pipeline.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const dlq = `${pipeline.topic}.dlq`;
  await admin.createTopics({ topics: [{ topic: dlq, numPartitions: 1 }] });
  const redis = createClient({ url: 'redis://127.0.0.1:6379' });
  redis.on('error', () => {});
  await redis.connect();
  const sql = postgres(pipeline.databaseUrl, { max: 8, onnotice: () => {} });
  try {
    const workerPort = await freePort();
    const worker = tsxProcess('src/main.ts', [], {
      cwd: `${repoRoot}worker`,
      env: {
        ORDERS_TOPIC: pipeline.topic,
        KAFKA_GROUP: `${ns}-worker`,
        DLQ_TOPIC: dlq,
        REDIS_NS: ns,
        WORKER_PORT: String(workerPort),
        HISTORY_MAXLEN: '200000',
        GATEWAY_MAXLEN: '200000',
        LOG_LEVEL: 'warn',
      },
    });
    worker.stdout?.resume();
    const gateways: Gateway[] = [];
    for (const id of [`${ns}-a`, `${ns}-b`]) {
      const port = await freePort();
      const child = tsxProcess('src/main.ts', [], {
        cwd: `${repoRoot}gateway`,
        env: {
          GATEWAY_ID: id,
          PORT: String(port),
          HOST: '127.0.0.1',
          // Development mode: the dev token secret, and /metrics open on the (loopback) port.
          AUTH_MODE: 'development',
          REDIS_NS: ns,
          DATABASE_READER_URL: pipeline.readerUrl,
          LOG_LEVEL: 'warn',
          // Every benchmark client comes from one address with one staff token.
          MAX_CONNECTIONS_PER_IP: '100000',
          MAX_CONNECTIONS_PER_PRINCIPAL: '100000',
        },
      });
      child.stdout?.resume();
      gateways.push({ port, url: `ws://127.0.0.1:${port}/ws` });
    }
    const directPort = await freePort();
    const direct = tsxProcess(`${here}direct-baseline.ts`, [
      String(directPort),
      pipeline.topic,
      `${ns}-direct`,
    ]);
    // Generous: on a loaded machine a process compiling its TypeScript takes a while.
    await Promise.all([
      until(() => httpOk(`http://127.0.0.1:${workerPort}/readyz`), 'worker ready', 180_000, 50),
      ...gateways.map((g) =>
        until(() => httpOk(`http://127.0.0.1:${g.port}/readyz`), 'gateway ready', 180_000, 50),
      ),
      new Promise<void>((resolve, reject) => {
        direct.stdout?.once('data', () => resolve());
        direct.once('exit', (code) => reject(new Error(`direct baseline exited (${code})`)));
      }),
    ]);
    log('worker, two gateways and the direct baseline are up; seeding orders');
    await seedOrders(sql);
    const services: Services = {
      pipeline,
      sql,
      workerMetrics: `http://127.0.0.1:${workerPort}/metrics`,
      gateways,
      directUrl: `ws://127.0.0.1:${directPort}/`,
    };
    // Let the seed inserts pass through before the first round.
    await sleep(3_000);

    const rounds: Round[] = [];
    for (const rate of RATES) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const side of ['pipeline', 'direct'] as const) {
          const result = await runRound(services, side, rate);
          rounds.push(result);
          log(
            `${rate}/s ${side} round ${round + 1}: p50 ${result.total.percentile(50)} ms, p99 ${result.total.percentile(99)} ms, max ${result.total.percentile(100)} ms (${result.deliveries}/${result.expectedDeliveries} deliveries${result.resets > 0 ? `, ${result.resets} resets` : ''}${result.gaps + result.repeats > 0 ? `, ${result.gaps} version gaps and ${result.repeats} repeated versions: a broken delivery promise` : ''})`,
          );
        }
      }
    }

    const report: Report = {
      command: [
        'npm run bench:e2e',
        ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
      ].join(' '),
      generatedAt: new Date().toISOString(),
      machine: { cores: cpus().length, model: cpus()[0]?.model ?? 'cpu', node: process.version },
      loadBefore,
      loadAfter: loadavg(),
      config: {
        rates: RATES,
        clients: args.clients,
        seconds: SECONDS,
        warmup: WARMUP,
        rounds: ROUNDS,
        drain: DRAIN_S,
        orders: ORDERS,
      },
      rounds,
    };
    await mkdir(`${repoRoot}bench/results`, { recursive: true });
    await writeFile(`${repoRoot}bench/results/e2e.md`, renderReport(report));
    const numbers = { ...report, rounds: undefined, summary: summary(report) };
    await writeFile(`${repoRoot}bench/results/e2e.json`, `${JSON.stringify(numbers, null, 2)}\n`);
    log('wrote bench/results/e2e.md');
  } finally {
    await stopChildren(children);
    await sql.end({ timeout: 5 }).catch(() => {});
    await admin.deleteTopics({ topics: [dlq] }).catch(() => {});
    await admin.deleteGroups([`${ns}-worker`, `${ns}-direct`]).catch(() => {});
    await admin.disconnect();
    await dropRedisNamespace(redis, ns);
    await redis.close();
    await pipeline.close();
  }
}

runBench(main, log, children);
