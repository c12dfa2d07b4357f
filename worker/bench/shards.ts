/**
 * Forward throughput on the local Redis Cluster with one shard group against three
 * (REDIS_SHARDS=1 vs 3), side by side in alternating rounds (1, 3, 1, 3 …; each pair gives a
 * ratio, so a shared machine's drift moves both sides of a pair alike).
 *
 * Each side forwards the same records through the worker's forward step (createForwarder, the
 * Lua scripts the worker runs) over a cluster client, six partitions in parallel as the worker
 * does (KAFKA_PARTITIONS_CONCURRENCY=6), in chunks of FORWARD_CHUNK records, with two live
 * gateways in every group. Kafka and decoding are left out: they are the same for both sides,
 * and what shard groups change is where Redis runs the steps.
 *
 *   npm run bench:shards -- [--rounds 4 --records 60000 --chunk 1000 --shards 3]
 *
 * Needs the local Redis Cluster (npm run stack:cluster:up). Writes bench/results/cluster.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { heartbeatGateway, type StreamChange, shardKeys } from '@orders/contract/redis';
import { createRedisConnection, isCluster } from '@orders/redis';
import { medianOf, summarize } from '@orders/test-harness';
import { pino } from 'pino';
import { createForwarder, type ForwardRecord } from '../src/forward.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    records: { type: 'string', default: '60000' },
    chunk: { type: 'string', default: '1000' },
    shards: { type: 'string', default: '3' },
    seeds: {
      type: 'string',
      default: 'redis://127.0.0.1:7001,redis://127.0.0.1:7002,redis://127.0.0.1:7003',
    },
  },
});
const rounds = Number(args.rounds);
const records = Number(args.records);
const chunk = Number(args.chunk);
const shards = Number(args.shards);
const PARTITIONS = 6;
const GATEWAYS = 2;
const TOPIC = 'bench.public.orders';

const connection = createRedisConnection(
  { kind: 'cluster', seeds: args.seeds.split(',') },
  { logger: pino({ level: 'silent' }), message: 'redis error' },
);
if (!isCluster(connection)) throw new Error('expected a cluster client');
const redis = connection;
await redis.connect();

/** A change of about 500 bytes, as the worker writes them. */
function change(partition: number, offset: number): StreamChange {
  return {
    op: 'update',
    row: {
      id: 1 + ((offset * PARTITIONS + partition) % 100_000),
      customerName: `customer-${offset % 97}`,
      productName: `product with a longer name ${offset % 31}`,
      status: 'paid',
      version: 1 + offset,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    },
    before: {
      id: 1 + ((offset * PARTITIONS + partition) % 100_000),
      customerName: `customer-${offset % 97}`,
      productName: `product with a longer name ${offset % 31}`,
      status: 'pending',
      version: offset,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    },
    committedAt: Date.now(),
    txId: 1000 + offset,
    lsn: String(1000 + offset),
    kafka: { topic: TOPIC, partition, offset: String(offset), timestamp: Date.now() },
  };
}

/** The masters (addresses) owning the groups' slots. */
async function mastersOf(histories: readonly string[]): Promise<Set<string>> {
  const any = redis.masters[0];
  if (any === undefined) throw new Error('the cluster has no master');
  const node = await redis.nodeClient(any);
  const owners = new Set<string>();
  for (const key of histories) {
    const slot = Number(await node.sendCommand(['CLUSTER', 'KEYSLOT', key]));
    const owner = redis.slots[slot]?.master.address;
    if (owner !== undefined) owners.add(owner);
  }
  return owners;
}

/** One side: a fresh namespace, every record forwarded; records per second and masters used. */
async function measure(groups: number, round: number): Promise<{ perSecond: number; masters: number }> {
  const ns = `bshd${process.pid}r${round}s${groups}`;
  const keys = shardKeys(ns, groups);
  const masters = (await mastersOf(keys.map((k) => k.history))).size;
  for (const group of keys)
    for (let g = 0; g < GATEWAYS; g++) await heartbeatGateway(redis, group, `bench-gw-${g}`);
  const forwarder = createForwarder(
    redis,
    keys,
    { gatewayTtlMs: 600_000, historyMaxlen: 1_000_000, gatewayMaxlen: 1_000_000 },
    'bench-cluster',
  );
  const perPartition = Math.ceil(records / PARTITIONS);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, partition) => {
      for (let from = 0; from < perPartition; from += chunk) {
        const batch: ForwardRecord[] = [];
        for (let offset = from; offset < Math.min(from + chunk, perPartition); offset++) {
          batch.push({
            offset: String(offset),
            change: change(partition, offset),
            position: { commit: String(1000 + offset), change: String(1000 + offset) },
            snapshotRead: false,
            reset: null,
          });
        }
        await forwarder.forwardRecords(TOPIC, partition, batch.at(-1)?.offset ?? '0', batch);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  let written = 0;
  for (const group of keys) written += await redis.xLen(group.history);
  if (written !== perPartition * PARTITIONS) throw new Error(`history holds ${written} entries`);
  for (const master of redis.masters) {
    const node = await redis.nodeClient(master);
    for await (const batch of node.scanIterator({ MATCH: `{${ns}*`, COUNT: 1000 }))
      for (const key of batch) await node.del(key);
  }
  return { perSecond: Math.round(written / seconds), masters };
}

const loadBefore = loadavg()[0] ?? 0;
const pairs: { one: number; many: number; masters: number }[] = [];
for (let i = 0; i < rounds; i++) {
  const one = (await measure(1, i)).perSecond;
  const sharded = await measure(shards, i);
  const many = sharded.perSecond;
  pairs.push({ one, many, masters: sharded.masters });
  process.stdout.write(`[shards] round ${i + 1}/${rounds}: S=1 ${one}/s, S=${shards} ${many}/s\n`);
}
const loadAfter = loadavg()[0] ?? 0;
await redis.close();

const ratios = pairs.map((p) => p.many / p.one);
const rows = pairs
  .map(
    (p, i) =>
      `| ${i + 1} | ${p.one.toLocaleString('en')} | ${p.many.toLocaleString('en')} | ${p.masters} | ${(ratios[i] ?? 0).toFixed(2)} |`,
  )
  .join('\n');
const report = `# Forward throughput on the Redis Cluster: one shard group vs ${shards}

Generated by \`npm run bench:shards -- --rounds ${rounds} --records ${records} --chunk ${chunk} --shards ${shards}\`
on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores, 1-minute load ${loadBefore.toFixed(1)} before and
${loadAfter.toFixed(1)} after (the machine is shared with other work; read the ratios).

What runs: the worker's forward step (\`createForwarder\`, its Lua scripts) over a node-redis
cluster client against the local 3-master Redis Cluster (\`npm run stack:cluster:up\`, all three
masters on this same machine), six partitions forwarded in parallel in chunks of ${chunk}, ${GATEWAYS} live
gateways registered in every group, ~500-byte changes, ${records.toLocaleString('en')} records per side.
Kafka and decoding are not part of it (identical for both sides). With one group every step
runs on the master owning \`{ns}\`; with ${shards}, partition p's steps run on the master owning
\`{ns:<p mod ${shards}>}\`. Rounds alternate S=1, S=${shards}, S=1, S=${shards} …

| round | S=1 records/s | S=${shards} records/s | masters holding the S=${shards} groups | ratio S=${shards} / S=1 |
| ----- | ------------- | ------------- | ----------------------------- | ------------------ |
${rows}

Median ratio: **${summarize(ratios, 2)}** (median, min–max over ${rounds} pairs); S=1 median
${Math.round(medianOf(pairs.map((p) => p.one))).toLocaleString('en')} records/s, S=${shards} median ${Math.round(medianOf(pairs.map((p) => p.many))).toLocaleString('en')} records/s.

All masters share this machine's ${cpus().length} cores with the benchmark process itself (and with other
work), so spreading the groups over the masters can only use what the single master left idle
of those cores. How far the ratio goes with masters on cores or hosts of their own is not
measured here.
`;
const out = join(import.meta.dirname, '..', '..', 'bench', 'results', 'cluster.md');
writeFileSync(out, report);
process.stdout.write(`[shards] results written to ${out}\n`);
