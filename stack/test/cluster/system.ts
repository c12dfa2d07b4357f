/**
 * The whole system on the local Redis Cluster, as the cluster suites run it: this file's own
 * database, connector and topic on the shared stack, the real worker and two real gateways as
 * processes configured with REDIS_CLUSTER (and REDIS_SHARDS when given) only, and protocol
 * clients. Also the two scenarios every cluster layout must pass.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTestPipeline, freePort, type TestPipeline } from '@orders/test-harness';
import { sign } from 'hono/jwt';
import { Kafka, logLevel } from 'kafkajs';
import type { RedisClusterType } from 'redis';
import { expect } from 'vitest';
import { expectDelivered } from '../faults/checks.ts';
import { httpOk, Service } from '../faults/child-process.ts';
import { METRICS_TOKEN } from '../faults/metrics-token.ts';
import { ProtocolClient } from '../faults/protocol-client.ts';
import type { Filter } from '../faults/server-frames.ts';
import { startTraffic } from '../faults/traffic.ts';
import { connectCluster, repoRoot } from './local-cluster.ts';

export interface ClusterSystem {
  pipeline: TestPipeline;
  cluster: RedisClusterType;
  worker: Service;
  gateways: [Service, Service];
  /** A protocol client on `urls`, closed by {@link closeClients}. */
  client(name: string, urls: () => string[], filter?: Filter): ProtocolClient;
  closeClients(): Promise<void>;
  /** Stops everything and drops what the run made; `dropKeys` removes its Redis keys. */
  close(dropKeys: (cluster: RedisClusterType, ns: string) => Promise<void>): Promise<void>;
}

export const httpUrl = (gateway: Service) => `http://127.0.0.1:${gateway.spec.env.PORT}`;
export const wsUrl = (gateway: Service) => `ws://127.0.0.1:${gateway.spec.env.PORT}/ws`;

export async function until(
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

export const snapshotsDone = (c: ProtocolClient) =>
  c.frames.filter(({ frame }) => frame.type === 'snapshot' && frame.done).length;

export async function startClusterSystem(
  seeds: string[],
  options: { logName: string; shards?: number },
): Promise<ClusterSystem> {
  const cluster = await connectCluster(seeds);
  const pipeline = await createTestPipeline({ partitions: 3 });
  const dlqTopic = `${pipeline.ns}.dlq`;
  const logDir = join(repoRoot, 'test-artifacts', `${options.logName}-${pipeline.ns}`);
  mkdirSync(logDir, { recursive: true });
  await kafkaAdmin(pipeline.kafkaBrokers, (admin) =>
    admin.createTopics({
      topics: [{ topic: dlqTopic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    }),
  );
  // Only REDIS_CLUSTER: nothing may fall back to the single Redis on 6379.
  const redis = {
    REDIS_CLUSTER: seeds.join(','),
    REDIS_NS: pipeline.ns,
    ...(options.shards === undefined ? {} : { REDIS_SHARDS: String(options.shards) }),
  };

  const workerPort = await freePort();
  const worker = new Service({
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
      DLQ_TOPIC: dlqTopic,
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

  const secret = 'cluster-suite-secret-0123456789abcdef';
  const token = await sign({ role: 'staff', exp: Math.floor(Date.now() / 1000) + 3600 }, secret, 'HS256');
  const gateways: Service[] = [];
  for (const id of ['gw-a', 'gw-b']) {
    const port = await freePort();
    gateways.push(
      new Service({
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
          METRICS_TOKEN,
          ALLOWED_ORIGINS: 'http://127.0.0.1:5173',
          LOG_LEVEL: 'info',
        },
        logFile: join(logDir, `${id}.log`),
        ready: () => httpOk(`http://127.0.0.1:${port}/readyz`),
      }),
    );
  }
  const services = [worker, ...gateways];
  await Promise.all(services.map((s) => s.start()));
  await pipeline.sql`
    insert into orders (customer_name, product_name, status)
    select (array['Alice','Bob','Carol','Dave'])[1 + i % 4], 'seed', 'pending' from generate_series(1, 30) i`;

  const clients: ProtocolClient[] = [];
  const closeClients = async () => {
    for (const client of clients.splice(0)) await client.close();
  };
  return {
    pipeline,
    cluster,
    worker,
    gateways: gateways as [Service, Service],
    client(name, urls, filter) {
      const made = new ProtocolClient({ name, gateways: urls, token, ...(filter ? { filter } : {}) });
      clients.push(made);
      return made;
    },
    closeClients,
    async close(dropKeys) {
      await closeClients();
      for (const service of services.reverse()) await service.close().catch(() => {});
      await kafkaAdmin(pipeline.kafkaBrokers, (admin) => admin.deleteTopics({ topics: [dlqTopic] })).catch(
        () => {},
      );
      await pipeline.close();
      await dropKeys(cluster, pipeline.ns);
      await cluster.close();
    },
  };
}

/**
 * Clients joining one after another while changes flow: each snapshot must meet the live
 * changes after it exactly. Every client ends equal to PostgreSQL, nothing twice, no reset,
 * one snapshot each. Returns the clients.
 */
export async function joinWhileChangesFlow(system: ClusterSystem): Promise<ProtocolClient[]> {
  const { pipeline, gateways } = system;
  const [a, b] = gateways;
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
      const c = system.client(name, () => [wsUrl(gateway)], filter);
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
  return joined;
}

/**
 * Gateway A is killed with SIGKILL under writes: its clients resume on B from their cursors,
 * with no second snapshot, and end equal to PostgreSQL, nothing twice, no reset.
 */
export async function resumeAfterGatewayKill(system: ClusterSystem): Promise<void> {
  const { pipeline, gateways } = system;
  const [a, b] = gateways;
  const both = () => [wsUrl(a), wsUrl(b)];
  const group = [
    system.client('all', both),
    system.client('paid', both, { status: ['paid'] }),
    system.client('bob', both, { customer: 'Bob' }),
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
  expect(group[0]?.frames.some(({ gateway, frame }) => gateway === wsUrl(b) && frame.type === 'change')).toBe(
    true,
  );
}

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
