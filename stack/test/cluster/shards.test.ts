/**
 * Shard groups on the Redis Cluster: the real worker and two real gateways as processes with
 * REDIS_CLUSTER and REDIS_SHARDS=3, on this file's own database, connector and topic (3
 * partitions, so one partition per group). The groups' hash tags put their keys on more than
 * one master (checked with CLUSTER KEYSLOT and CLUSTER NODES); clients subscribing while
 * changes flow end equal to PostgreSQL with nothing twice and no reset, and a client of a
 * killed gateway resumes on the other one from its vector cursor, without a snapshot.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCursor } from '@orders/contract';
import { shardKeys } from '@orders/contract/redis';
import { createTestPipeline, freePort, type TestPipeline } from '@orders/testing';
import { sign } from 'hono/jwt';
import { Kafka, logLevel } from 'kafkajs';
import type { RedisClusterType } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectDelivered } from '../faults/checks.ts';
import { httpOk, Service } from '../faults/child-process.ts';
import { ProtocolClient } from '../faults/protocol-client.ts';
import type { Filter } from '../faults/server-frames.ts';
import { startTraffic } from '../faults/traffic.ts';
import { connectCluster, repoRoot } from './local-cluster.ts';

const SHARDS = 3;

let pipeline: TestPipeline;
let cluster: RedisClusterType;
const gateways: Service[] = [];
let token: string;
const services: Service[] = [];
const clients: ProtocolClient[] = [];
const dlqTopic = () => `${pipeline.ns}.dlq`;

const httpUrl = (gateway: Service) => `http://127.0.0.1:${gateway.spec.env.PORT}`;
const wsUrl = (gateway: Service) => `ws://127.0.0.1:${gateway.spec.env.PORT}/ws`;

beforeAll(async () => {
  const seeds = inject('redisCluster');
  cluster = await connectCluster(seeds);
  pipeline = await createTestPipeline({ partitions: 3 });
  const logDir = join(repoRoot, 'test-artifacts', `cluster-shards-${pipeline.ns}`);
  mkdirSync(logDir, { recursive: true });
  await kafkaAdmin(pipeline.kafkaBrokers, (admin) =>
    admin.createTopics({
      topics: [{ topic: dlqTopic(), numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    }),
  );
  const redis = { REDIS_CLUSTER: seeds.join(','), REDIS_NS: pipeline.ns, REDIS_SHARDS: String(SHARDS) };

  const workerPort = await freePort();
  services.push(
    new Service({
      name: 'worker',
      command: process.execPath,
      args: ['--import', 'tsx', 'src/main.ts'],
      cwd: join(repoRoot, 'worker'),
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: pipeline.kafkaBrokers.join(','),
        KAFKA_CLIENT_ID: `worker-${pipeline.ns}`,
        KAFKA_GROUP: `worker-${pipeline.ns}`,
        ORDERS_TOPIC: pipeline.topic,
        DLQ_TOPIC: dlqTopic(),
        KAFKA_SESSION_TIMEOUT_MS: '10000',
        ...redis,
        WORKER_PORT: String(workerPort),
        WORKER_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      logFile: join(logDir, 'worker.log'),
      ready: () => httpOk(`http://127.0.0.1:${workerPort}/readyz`),
      readyTimeoutMs: 90_000,
    }),
  );

  const secret = 'cluster-suite-secret-0123456789abcdef';
  token = await sign({ role: 'staff', exp: Math.floor(Date.now() / 1000) + 3600 }, secret, 'HS256');
  for (const id of ['gw-a', 'gw-b']) {
    const port = await freePort();
    const gateway = new Service({
      name: id,
      command: process.execPath,
      args: ['--import', 'tsx', 'src/main.ts'],
      cwd: join(repoRoot, 'gateway'),
      env: {
        PATH: process.env.PATH,
        GATEWAY_ID: `${id}-${pipeline.ns}`,
        PORT: String(port),
        HOST: '127.0.0.1',
        ...redis,
        DATABASE_READER_URL: pipeline.readerUrl,
        GATEWAY_HEARTBEAT_MS: '500',
        AUTH_MODE: 'production',
        JWT_SECRET: secret,
        ALLOWED_ORIGINS: 'http://127.0.0.1:5173',
        LOG_LEVEL: 'info',
      },
      logFile: join(logDir, `${id}.log`),
      ready: () => httpOk(`http://127.0.0.1:${port}/readyz`),
    });
    services.push(gateway);
    gateways.push(gateway);
  }
  await Promise.all(services.map((s) => s.start()));
  await pipeline.sql`
    insert into orders (customer_name, product_name, status)
    select (array['Alice','Bob','Carol','Dave'])[1 + i % 4], 'seed', 'pending' from generate_series(1, 30) i`;
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

afterAll(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const service of services.reverse()) await service.close().catch(() => {});
  if (pipeline !== undefined) {
    await kafkaAdmin(pipeline.kafkaBrokers, (admin) => admin.deleteTopics({ topics: [dlqTopic()] })).catch(
      () => {},
    );
    await pipeline.close();
    // Every group's tag, on every master.
    for (const master of cluster?.masters ?? []) {
      const node = await cluster.nodeClient(master);
      // The groups' keys on one master may lie in several slots: one DEL each.
      for await (const batch of node.scanIterator({ MATCH: `{${pipeline.ns}:*`, COUNT: 1000 }))
        for (const key of batch) await node.del(key);
    }
  }
  await cluster?.close();
});

function client(name: string, urls: () => string[], filter?: Filter): ProtocolClient {
  const made = new ProtocolClient({ name, gateways: urls, token, ...(filter ? { filter } : {}) });
  clients.push(made);
  return made;
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const snapshotsDone = (c: ProtocolClient) =>
  c.frames.filter(({ frame }) => frame.type === 'snapshot' && frame.done).length;

/** Node id → address of every master, from CLUSTER NODES. */
async function mastersByNodeId(): Promise<Map<string, string>> {
  const any = cluster.masters[0];
  if (any === undefined) throw new Error('the cluster has no master');
  const text = String(await (await cluster.nodeClient(any)).sendCommand(['CLUSTER', 'NODES']));
  const masters = new Map<string, string>();
  for (const line of text.trim().split('\n')) {
    const [id, address, flags] = line.split(' ');
    if (id !== undefined && address !== undefined && flags?.split(',').includes('master'))
      masters.set(id, address.split('@')[0] ?? address);
  }
  return masters;
}

/** The master (address) serving `slot`, from CLUSTER NODES' slot ranges. */
async function masterOfSlot(slot: number): Promise<string> {
  const any = cluster.masters[0];
  if (any === undefined) throw new Error('the cluster has no master');
  const text = String(await (await cluster.nodeClient(any)).sendCommand(['CLUSTER', 'NODES']));
  const masters = await mastersByNodeId();
  for (const line of text.trim().split('\n')) {
    const fields = line.split(' ');
    const address = masters.get(fields[0] ?? '');
    if (address === undefined) continue;
    for (const range of fields.slice(8)) {
      if (range.startsWith('[')) continue;
      const [from, to] = range.split('-').map(Number);
      if (from !== undefined && slot >= from && slot <= (to ?? from)) return address;
    }
  }
  throw new Error(`no master serves slot ${slot}`);
}

describe('shard groups on a Redis Cluster (REDIS_CLUSTER, REDIS_SHARDS=3)', () => {
  it('snapshot + live with vector cursors: clients end equal to PostgreSQL, nothing twice, no reset; the groups live on more than one master', async () => {
    const [a, b] = gateways as [Service, Service];
    const traffic = startTraffic(pipeline.sql, { concurrency: 2, pauseMs: 5 });
    const joined: ProtocolClient[] = [];
    try {
      await traffic.after(40);
      const specs: [string, Service, Filter | undefined][] = [
        ['all', a, undefined],
        ['pending-or-paid', b, { status: ['pending', 'paid'] }],
        ['alice', a, { customer: 'Alice' }],
        ['all-on-b', b, undefined],
      ];
      for (const [name, gateway, filter] of specs) {
        const c = client(name, () => [wsUrl(gateway)], filter);
        await c.connect();
        joined.push(c);
        await traffic.after(30);
      }
      await traffic.after(60);
    } finally {
      await traffic.stop();
    }
    await expectDelivered(joined, pipeline.sql, {
      resets: () => 'none',
      gatewayHttpUrls: gateways.map(httpUrl),
      timeoutMs: 60_000,
    });
    for (const c of joined) expect(snapshotsDone(c), c.name).toBe(1);
    const all = joined.find((c) => c.name === 'all');
    expect(all?.changeFrames().length).toBeGreaterThan(50);
    const cursor = parseCursor(all?.cursor ?? '');
    expect(cursor.kind === 'vector' ? cursor.cursors.length : 0).toBe(SHARDS);

    // Each group's keys share one slot; the groups' slots are served by more than one master,
    // and every group's history there holds changes.
    const groups = shardKeys(pipeline.ns, SHARDS);
    const any = cluster.masters[0];
    if (any === undefined) throw new Error('the cluster has no master');
    const node = await cluster.nodeClient(any);
    const owners: string[] = [];
    for (const keys of groups) {
      const slots = new Set<number>();
      for (const key of [keys.history, keys.gateways, keys.highWater, keys.epoch, keys.gatewayStream('x')])
        slots.add(Number(await node.sendCommand(['CLUSTER', 'KEYSLOT', key])));
      expect(slots.size).toBe(1);
      const owner = await masterOfSlot([...slots][0] ?? -1);
      owners.push(owner);
      const ownerNode = cluster.masters.find((m) => m.address === owner);
      if (ownerNode === undefined) throw new Error(`${owner} is not a master the client knows`);
      expect(await (await cluster.nodeClient(ownerNode)).xLen(keys.history)).toBeGreaterThan(0);
    }
    expect(new Set(owners).size).toBeGreaterThan(1);
  });

  it('a client of a gateway killed with SIGKILL resumes on the other gateway from its vector cursor, without a snapshot', async () => {
    const [a, b] = gateways as [Service, Service];
    const both = () => [wsUrl(a), wsUrl(b)];
    const group = [
      client('all', both),
      client('paid', both, { status: ['paid'] }),
      client('bob', both, { customer: 'Bob' }),
    ];
    await Promise.all(group.map((c) => c.connect()));
    await until(() => group.every((c) => c.cursor !== undefined), 'every client to hold a cursor');
    const traffic = startTraffic(pipeline.sql, { concurrency: 2, pauseMs: 5 });
    try {
      await traffic.after(50);
      await a.kill('SIGKILL');
      await traffic.after(80);
    } finally {
      await traffic.stop();
    }
    await until(() => group.every((c) => c.reconnects > 0 && c.connected), 'every client to reconnect');
    await expectDelivered(group, pipeline.sql, {
      resets: () => 'none',
      gatewayHttpUrls: [httpUrl(b)],
      timeoutMs: 60_000,
    });
    for (const c of group) {
      expect(snapshotsDone(c), c.name).toBe(1);
      expect(c.frames.at(-1)?.gateway, c.name).toBe(wsUrl(b));
    }
    expect(
      group[0]?.frames.some(({ gateway, frame }) => gateway === wsUrl(b) && frame.type === 'change'),
    ).toBe(true);
  });
});

async function kafkaAdmin<T>(
  brokers: string[],
  use: (admin: ReturnType<Kafka['admin']>) => Promise<T>,
): Promise<T> {
  const admin = new Kafka({ clientId: 'cluster-suite', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}
