/**
 * Forwarding benchmark: Kafka → worker → Redis, against the real native stack.
 *
 * 1. Throughput: pre-produce N Debezium-shaped records to a fresh topic, start a worker
 *    process (src/main.ts) with 1, 2 or 4 registered gateways and time the drain. The
 *    drain time is taken from the Redis stream ids of the first and last history entries
 *    (Redis clock at append), so process start-up and group join are not counted.
 * 2. Added latency: produce at a steady rate and compare each record's Kafka log-append
 *    time with the Redis append time (its stream id), both in ms on this host's clock.
 *
 * Writes bench/results/worker.md and worker.json at the repository root.
 *   npm run bench:worker [-- --records 100000 --rate 1000 --seconds 30]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  CHANGE_FIELD,
  heartbeatGateway,
  type RedisKeys,
  redisKeys,
  type StreamChange,
} from '@orders/contract/redis';
import {
  benchOptions,
  dropRedisNamespace,
  envPairs,
  generatedBy,
  load1,
  runBench,
  writeResult,
} from '@orders/test-harness';
import { type Admin, Kafka, logLevel, type Message, Partitioners, type Producer } from 'kafkajs';
import { createClient } from 'redis';
import { parseEnv } from '../src/env.ts';

const TARGET_THROUGHPUT = 20_000; // events/s with 2 gateways
const TARGET_P99_MS = 5; // added latency at 1,000 events/s
const PARTITIONS = 6;
const WARMUP_SECONDS = 3;

const args = benchOptions({
  records: 100000,
  rate: 1000,
  seconds: 30,
  gateways: '1,2,4',
  /** `KEY=value` for the spawned worker's environment (repeatable), e.g. `--env FORWARD_CHUNK=2000`. */
  env: [],
});
const WORKER_ENV = envPairs(args.env);
const GATEWAY_COUNTS = args.gateways.split(',').map(Number);
/** The settings the spawned worker runs with: its defaults and any `--env`, read through its own schema. */
const defaults = parseEnv(WORKER_ENV);

const workerRoot = fileURLToPath(new URL('..', import.meta.url));

type Redis = ReturnType<typeof createClient>;

const began = performance.now();
const say = (line: string) =>
  process.stdout.write(`[bench:worker ${((performance.now() - began) / 1000).toFixed(1)}s] ${line}\n`);

// Source positions grow with every record produced, as Debezium's do within a partition:
// each update is its own transaction, committed right after its change.
let walPosition = 1_000_000;

function debeziumUpdate(id: number, version: number): Message {
  walPosition += 16;
  const statuses = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'];
  const at = new Date(Date.UTC(2026, 0, 1) + id * 1000).toISOString();
  const row = (v: number) => ({
    id,
    customer_name: `customer-${id % 97}`,
    product_name: `product-${id % 31}`,
    status: statuses[v % statuses.length],
    version: v,
    created_at: at,
    updated_at: new Date(Date.parse(at) + v).toISOString(),
  });
  return {
    key: `{"id":${id}}`,
    value: JSON.stringify({
      before: row(version - 1),
      after: row(version),
      source: {
        version: '3.6.1.Final',
        connector: 'postgresql',
        name: 'bench',
        ts_ms: Date.now(),
        lsn: walPosition,
        sequence: JSON.stringify([String(walPosition - 8), String(walPosition)]),
      },
      op: 'u',
      ts_ms: Date.now(),
    }),
  };
}

interface Run {
  ns: string;
  topic: string;
  keys: RedisKeys;
}

function newRun(label: string): Run {
  const ns = `bench-${label}-${randomBytes(3).toString('hex')}`;
  return { ns, topic: `${ns}.public.orders`, keys: redisKeys(ns) };
}

async function createTopics(admin: Admin, run: Run): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: run.topic,
        numPartitions: PARTITIONS,
        replicationFactor: 1,
        // The record timestamp becomes the broker's append time: the start of "added latency".
        configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
      },
      { topic: `${run.topic}.dlq`, numPartitions: 1, replicationFactor: 1 },
    ],
  });
}

function spawnWorker(run: Run): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: workerRoot,
    env: {
      PATH: process.env.PATH,
      ORDERS_TOPIC: run.topic,
      DLQ_TOPIC: `${run.topic}.dlq`,
      KAFKA_GROUP: `${run.ns}-worker`,
      REDIS_NS: run.ns,
      WORKER_PORT: '0',
      LOG_LEVEL: 'warn',
      HISTORY_MAXLEN: String(args.records * 2),
      GATEWAY_MAXLEN: String(args.records * 2),
      ...WORKER_ENV,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function keepAlive(redis: Redis, keys: RedisKeys, count: number): () => void {
  const ids = Array.from({ length: count }, (_, i) => `bench-gw-${i + 1}`);
  const beat = () => Promise.all(ids.map((id) => heartbeatGateway(redis, keys, id)));
  void beat();
  const timer = setInterval(() => void beat().catch(() => {}), 500);
  return () => clearInterval(timer);
}

const idMs = (id: string) => Number(id.slice(0, id.indexOf('-')));

async function waitForLength(redis: Redis, key: string, length: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = 0;
  for (;;) {
    const current = await redis.xLen(key);
    if (current >= length) return;
    if (Date.now() > deadline)
      throw new Error(`only ${current}/${length} entries in ${key} after ${timeoutMs} ms`);
    if (Date.now() - lastReport > 2_000) {
      say(`  … ${current}/${length} forwarded`);
      lastReport = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function cleanup(admin: Admin, redis: Redis, run: Run): Promise<void> {
  await admin.deleteTopics({ topics: [run.topic, `${run.topic}.dlq`] }).catch(() => {});
  await dropRedisNamespace(redis, run.ns);
}

interface ThroughputResult {
  gateways: number;
  records: number;
  drainMs: number;
  eventsPerSecond: number;
}

async function throughput(kafka: Kafka, admin: Admin, redis: Redis, gateways: number) {
  const run = newRun(`tp${gateways}`);
  await createTopics(admin, run);
  const producer = await connectProducer(kafka);
  say(`throughput, ${gateways} gateway(s): producing ${args.records} records to ${run.topic}`);
  const batch = 2_000;
  for (let i = 0; i < args.records; i += batch) {
    const messages: Message[] = [];
    for (let j = i; j < Math.min(args.records, i + batch); j++) {
      messages.push(debeziumUpdate(1 + (j % 5_000), 2 + Math.floor(j / 5_000)));
    }
    await producer.send({ topic: run.topic, messages });
  }
  await producer.disconnect();
  const stopBeats = keepAlive(redis, run.keys, gateways);
  say('  starting worker');
  const child = spawnWorker(run);
  try {
    await waitForLength(redis, run.keys.history, args.records, 600_000);
  } finally {
    await stopWorker(child);
    stopBeats();
  }
  const [first] = (await redis.xRange(run.keys.history, '-', '+', { COUNT: 1 })) ?? [];
  const [last] = (await redis.xRevRange(run.keys.history, '+', '-', { COUNT: 1 })) ?? [];
  if (!first || !last) throw new Error('history is empty');
  const gatewayLength = await redis.xLen(run.keys.gatewayStream('bench-gw-1'));
  if (gatewayLength !== args.records)
    throw new Error(`gateway stream has ${gatewayLength}, expected ${args.records}`);
  const drainMs = Math.max(1, idMs(last.id) - idMs(first.id));
  const result: ThroughputResult = {
    gateways,
    records: args.records,
    drainMs,
    eventsPerSecond: Math.round((args.records * 1000) / drainMs),
  };
  say(`  ${result.eventsPerSecond} events/s (${args.records} in ${drainMs} ms)`);
  await cleanup(admin, redis, run);
  return result;
}

interface LatencyResult extends Percentiles {
  gateways: number;
  rate: number;
  seconds: number;
  /** Same topic, same time, bare kafkajs consumer: Kafka append → eachBatch. */
  kafkajsBaseline: Percentiles;
  /** 1-minute load average before and after the run (2 cores: above 2 means queueing). */
  loadAverage: [number, number];
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

interface Percentiles {
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    maxMs: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * A bare kafkajs consumer (no decoding, no Redis) on the same topic at the same time: the
 * floor any kafkajs-based worker on this machine, under its current load, starts from.
 */
async function startBaseline(kafka: Kafka, run: Run, skip: number) {
  const consumer = kafka.consumer({ groupId: `${run.ns}-baseline`, maxWaitTimeInMs: 1_000 });
  const samples: number[] = [];
  let seen = 0;
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  await consumer.connect();
  await consumer.subscribe({ topic: run.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch, resolveOffset }) => {
      const now = Date.now();
      for (const message of batch.messages) {
        if (seen++ > skip) samples.push(now - Number(message.timestamp));
        resolveOffset(message.offset);
      }
    },
  });
  while (!joined) await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    async stop(): Promise<number[]> {
      await consumer.disconnect();
      return samples;
    },
  };
}

async function latency(kafka: Kafka, admin: Admin, redis: Redis, gateways: number) {
  const run = newRun('lat');
  await createTopics(admin, run);
  const producer = await connectProducer(kafka);
  const stopBeats = keepAlive(redis, run.keys, gateways);
  const child = spawnWorker(run);
  const baseline = await startBaseline(kafka, run, args.rate * 3);
  const loadBefore = load1();
  let baselineSamples: number[] = [];
  const warmupSeconds = WARMUP_SECONDS;
  const total = args.rate * (args.seconds + warmupSeconds);
  try {
    // Wait until the worker forwards: a first record proves it joined the group.
    await producer.send({ topic: run.topic, messages: [debeziumUpdate(1, 2)] });
    await waitForLength(redis, run.keys.history, 1, 120_000);
    say(
      `latency: ${args.rate} events/s for ${warmupSeconds} s warm-up + ${args.seconds} s, ${gateways} gateways`,
    );
    const started = performance.now();
    let sent = 0;
    let reported = 0;
    const pending: Promise<unknown>[] = [];
    while (sent < total) {
      // Send whatever is due every ~2 ms: a steady stream rather than one burst per second.
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * args.rate));
      if (due > sent) {
        const messages: Message[] = [];
        for (; sent < due; sent++)
          messages.push(debeziumUpdate(1 + (sent % 5_000), 3 + Math.floor(sent / 5_000)));
        pending.push(producer.send({ topic: run.topic, acks: 1, messages }));
      }
      if (sent - reported >= args.rate * 5) {
        say(`  … ${sent}/${total} sent`);
        reported = sent;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all(pending);
    await waitForLength(redis, run.keys.history, total + 1, 120_000);
  } finally {
    await stopWorker(child);
    await producer.disconnect();
    baselineSamples = await baseline.stop();
    stopBeats();
  }
  const loadAfter = load1();

  const samples: number[] = [];
  let start = '-';
  let index = 0;
  for (;;) {
    const page = (await redis.xRange(run.keys.history, start, '+', { COUNT: 10_000 })) ?? [];
    for (const { id, message } of page) {
      // Skip the probe record and the warm-up (JIT, connection set-up).
      if (index++ <= args.rate * warmupSeconds) continue;
      const change = JSON.parse(message[CHANGE_FIELD] ?? '{}') as StreamChange;
      samples.push(idMs(id) - change.kafka.timestamp);
    }
    const last = page.at(-1);
    if (page.length < 10_000 || !last) break;
    start = `(${last.id}`;
  }
  const result: LatencyResult = {
    gateways,
    rate: args.rate,
    seconds: args.seconds,
    ...percentiles(samples),
    kafkajsBaseline: percentiles(baselineSamples),
    loadAverage: [Number(loadBefore.toFixed(2)), Number(loadAfter.toFixed(2))],
  };
  say(
    `  worker: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms over ${result.samples} events`,
  );
  const base = result.kafkajsBaseline;
  say(
    `  bare kafkajs baseline: p50 ${base.p50Ms} ms, p99 ${base.p99Ms} ms (load ${result.loadAverage.join(' → ')})`,
  );
  await cleanup(admin, redis, run);
  return result;
}

function report(tp: ThroughputResult[], lat: LatencyResult, redisVersion: string): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const base = lat.kafkajsBaseline;
  const mark = (ok: boolean) => (ok ? 'met' : 'missed');
  const rows = tp.map((r) => {
    const target = r.gateways === 2 ? `≥ ${TARGET_THROUGHPUT.toLocaleString('en')} events/s` : '—';
    const status = r.gateways === 2 ? mark(r.eventsPerSecond >= TARGET_THROUGHPUT) : '';
    return `| ${r.gateways} | ${r.records.toLocaleString('en')} | ${r.drainMs.toLocaleString('en')} | **${r.eventsPerSecond.toLocaleString('en')}** | ${target} | ${status} |`;
  });
  return `# Worker forwarding benchmark

${generatedBy('bench:worker')}.
Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version};
native single-node Kafka (KRaft) and Redis ${redisVersion} on the same host as the worker. The machine is
shared with other people's work, so these numbers are from a loaded machine (load averages below).

Setup: a fresh topic with ${PARTITIONS} partitions (log-append timestamps), Debezium-shaped update
records of ~${Buffer.byteLength(String(debeziumUpdate(1, 2).value))} bytes, one worker process (\`src/main.ts\`, settings:
${defaults.FORWARD_CHUNK.toLocaleString('en')} records per Lua call, ${defaults.KAFKA_PARTITIONS_CONCURRENCY} partitions in parallel, commits at most every ${defaults.KAFKA_COMMIT_INTERVAL_MS} ms), history and every gateway stream capped
(\`MAXLEN ~\`), each forwarded change appended to history and to every live gateway stream with one id.

## Throughput (Kafka → Redis)

${args.records.toLocaleString('en')} records produced before the worker starts; drain time = Redis append time of
the last history entry minus that of the first (start-up and group join excluded).

| gateways | records | drain (ms) | events/s | target | |
|---:|---:|---:|---:|---|---|
${rows.join('\n')}

## Added latency (Kafka log-append time → Redis append time)

Steady ${lat.rate.toLocaleString('en')} events/s for ${lat.seconds} s after a ${WARMUP_SECONDS} s warm-up, ${lat.gateways} gateways, ${lat.samples.toLocaleString('en')} events.
Both timestamps are millisecond clocks of this host, so each sample is quantised to ±1 ms.

| path | p50 | p90 | p99 | p99.9 | max | target | |
|---|---:|---:|---:|---:|---:|---|---|
| worker: Kafka append → Redis append | ${lat.p50Ms} ms | ${lat.p90Ms} ms | **${lat.p99Ms} ms** | ${lat.p999Ms} ms | ${lat.maxMs} ms | p99 ≤ ${TARGET_P99_MS} ms | ${mark(lat.p99Ms <= TARGET_P99_MS)} |
| baseline: Kafka append → bare kafkajs eachBatch | ${base.p50Ms} ms | ${base.p90Ms} ms | ${base.p99Ms} ms | ${base.p999Ms} ms | ${base.maxMs} ms | | |

The baseline is a plain kafkajs consumer group reading the same topic at the same time (in the
benchmark process, no decoding, no Redis): the floor for any kafkajs consumer on this machine
under its load at the time. 1-minute load average during the run: ${lat.loadAverage[0]} → ${lat.loadAverage[1]}
on ${cpus().length} cores${lat.loadAverage[0] > cpus().length ? ' (other jobs were competing for the CPUs: read the worker row against the baseline row)' : ''}.
`;
}

/**
 * One producer per run: kafkajs keeps refreshing metadata for every topic a producer ever
 * wrote to, and those requests fail once an earlier run's topic has been deleted.
 */
async function connectProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return producer;
}

async function main() {
  const kafka = new Kafka({
    clientId: 'bench-worker',
    brokers: ['127.0.0.1:9092'],
    logLevel: logLevel.ERROR,
  });
  const admin = kafka.admin();
  await admin.connect();
  const redis: Redis = createClient({ url: 'redis://127.0.0.1:6379' });
  redis.on('error', () => {});
  await redis.connect();
  try {
    const tp: ThroughputResult[] = [];
    for (const gateways of GATEWAY_COUNTS) tp.push(await throughput(kafka, admin, redis, gateways));
    const lat = await latency(kafka, admin, redis, 2);
    const json = {
      generatedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      targets: {
        throughputEventsPerSecondWith2Gateways: TARGET_THROUGHPUT,
        p99AddedLatencyMsAt1000PerSecond: TARGET_P99_MS,
      },
      throughput: tp,
      latency: lat,
    };
    await writeResult('worker.json', `${JSON.stringify(json, null, 2)}\n`);
    const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
    say(`results written to ${await writeResult('worker.md', report(tp, lat, redisVersion))}`);
  } finally {
    await admin.disconnect();
    await redis.close();
  }
}

// Exit explicitly: a kafkajs client left with a timer must not keep a finished run alive.
runBench(main, say);
