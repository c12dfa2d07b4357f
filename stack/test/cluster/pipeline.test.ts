/**
 * The whole path in cluster mode: PostgreSQL → Debezium → Kafka (the shared stack, this file's
 * own database, connector and topic) → the real worker and two real gateways as processes,
 * configured with REDIS_CLUSTER only → protocol clients. Every client must end equal to the
 * database, with nothing twice, nothing out of order, no silent gap and no reset. The last case
 * kills the master holding the namespace and restarts it empty, so it runs last and this file
 * runs alone (the suite's files never run side by side).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redisKeys } from '@orders/contract/redis';
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
import { clusterScript, connectCluster, dropNamespace, ownerOf, repoRoot } from './local-cluster.ts';

let pipeline: TestPipeline;
let cluster: RedisClusterType;
let worker: Service;
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
  const logDir = join(repoRoot, 'test-artifacts', `cluster-${pipeline.ns}`);
  mkdirSync(logDir, { recursive: true });
  await createTopic(pipeline.kafkaBrokers, dlqTopic());
  // Only REDIS_CLUSTER: nothing of this suite may fall back to the single Redis on 6379.
  const redis = { REDIS_CLUSTER: seeds.join(','), REDIS_NS: pipeline.ns };

  const workerPort = await freePort();
  worker = new Service({
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
  });
  services.push(worker);

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
    await deleteTopic(pipeline.kafkaBrokers, dlqTopic()).catch(() => {});
    await pipeline.close();
    await dropNamespace(cluster, pipeline.ns);
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

const readyz = (gateway: Service) =>
  fetch(`${httpUrl(gateway)}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.status,
    () => 0,
  );
const log = (service: Service) => readFileSync(service.spec.logFile, 'utf8');

const snapshotsDone = (c: ProtocolClient) =>
  c.frames.filter(({ frame }) => frame.type === 'snapshot' && frame.done).length;

describe('worker and gateways on a Redis Cluster (REDIS_CLUSTER only)', () => {
  it('snapshot + live: clients subscribing while changes flow end equal to PostgreSQL, nothing twice, no reset', async () => {
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
      // Each joins mid-stream: its snapshot and the live changes after it must meet exactly.
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
    expect(joined.find((c) => c.name === 'all')?.changeFrames().length).toBeGreaterThan(50);
    // The changes went through the cluster: history lives on the master owning the namespace.
    const keys = redisKeys(pipeline.ns);
    const owner = await cluster.nodeClient(await ownerOf(cluster, pipeline.ns));
    expect(await owner.xLen(keys.history)).toBeGreaterThan(100);
  });

  it('a client of a gateway killed with SIGKILL resumes on the other gateway from its cursor, without a snapshot', async () => {
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
      // One snapshot, on A; after the kill, only resumption (a second one would be a violation).
      expect(snapshotsDone(c), c.name).toBe(1);
      expect(c.frames.at(-1)?.gateway, c.name).toBe(wsUrl(b));
    }
    expect(
      group[0]?.frames.some(({ gateway, frame }) => gateway === wsUrl(b) && frame.type === 'change'),
    ).toBe(true);
  });

  it('the worker and a gateway outlive the loss of the master holding their keys; then changes flow again', async () => {
    const b = gateways[1] as Service;
    const owner = await ownerOf(cluster, pipeline.ns);
    const info = String(await (await cluster.nodeClient(owner)).sendCommand(['INFO', 'server']));
    process.kill(Number(/process_id:(\d+)/.exec(info)?.[1]), 'SIGKILL');

    await until(async () => (await readyz(b)) === 503, 'the gateway to report not ready');
    // Both name the node that is gone, the gateway on its shared and its blocking connection.
    const named = `"node":"${owner.address}"`;
    await until(
      () =>
        log(worker).includes(named) &&
        log(b).includes(named) &&
        log(b).includes('blocking redis connection error'),
      'connection errors naming the node',
    );

    // The node comes back empty (no persistence): a new epoch, no streams, no marks.
    await clusterScript('up');
    await until(async () => (await readyz(b)) === 200, 'the gateway to be ready again');
    await until(
      () => log(b).includes('gateway stream broken'),
      'the gateway to resync from its broken stream',
    );

    const after = client('after', () => [wsUrl(b)]);
    await after.connect();
    await until(() => after.cursor !== undefined, 'a snapshot after the outage');
    const traffic = startTraffic(pipeline.sql, { concurrency: 2, pauseMs: 5 });
    try {
      await traffic.after(40);
    } finally {
      await traffic.stop();
    }
    await expectDelivered([after], pipeline.sql, {
      resets: () => 'none',
      gatewayHttpUrls: [httpUrl(b)],
      timeoutMs: 60_000,
    });
    expect(after.changeFrames().length).toBeGreaterThan(0);
    expect(worker.unexpectedExits + b.unexpectedExits).toBe(0);
  });
});

async function createTopic(brokers: string[], topic: string): Promise<void> {
  const admin = new Kafka({ clientId: 'cluster-suite', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopic(brokers: string[], topic: string): Promise<void> {
  const admin = new Kafka({ clientId: 'cluster-suite', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}
