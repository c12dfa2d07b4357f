/**
 * Everything one test file needs, private to it: a database with its Debezium connector and
 * topic on the suite's Connect and broker, a redis-server, the real worker and two real
 * gateways as child processes. Nothing here touches the shared stack.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTestPipeline, freePort, type TestPipeline } from '@orders/test-harness';
import { sign } from 'hono/jwt';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { httpOk, Service } from './child-process.ts';
import { METRICS_TOKEN } from './metrics-token.ts';
import { PartitionProxy } from './partition-proxy.ts';
import { KAFKA_BROKERS, repoRoot } from './private-stack.ts';
import { ProtocolClient } from './protocol-client.ts';
import { redisService } from './redis-server.ts';
import type { Filter } from './server-frames.ts';

export interface EnvironmentOptions {
  /** Extra worker variables (e.g. a small GATEWAY_TTL_MS). */
  worker?: Record<string, string>;
  /** Puts a {@link PartitionProxy} between the first gateway and redis-server. */
  partitionFirstGateway?: boolean;
  /** Leaves the worker stopped (`worker.start()` later): changes pile up in Kafka meanwhile. */
  workerStopped?: boolean;
}

export interface Environment {
  stackHome: string;
  logDir: string;
  pipeline: TestPipeline;
  redis: Service;
  redisPort: number;
  worker: Service;
  /** Another worker process in the same consumer group (a rolling deploy's successor); started by the caller. */
  secondWorker(): Promise<Service>;
  gateways: Service[];
  /** Between the first gateway and Redis, when the options asked for one. */
  partition: PartitionProxy | undefined;
  gatewayUrls(): string[];
  gatewayHttpUrls(): string[];
  /**
   * Staff clients (one unfiltered, one by status, one by customer) and customer-token clients
   * (one unfiltered, one by status), spread over both gateways.
   */
  connectClients(): Promise<ProtocolClient[]>;
  /** Crashes the suite's supervisor restarted (worker, gateways, redis-server), for the log. */
  crashes(): string;
  /** The services that crashed (exited unasked) since this file's environment started. */
  crashed(): string[];
  /** Closes the clients of the case that just ended. */
  closeClients(): Promise<void>;
  close(): Promise<void>;
}

const partitions = 4;

export async function createEnvironment(options: EnvironmentOptions = {}): Promise<Environment> {
  const stackHome = inject('stackHome');
  const pipeline = await createTestPipeline({ partitions, readyTimeoutMs: 180_000 });
  const services: Service[] = [];
  let partition: PartitionProxy | undefined;
  const clients: ProtocolClient[] = [];
  const close = async () => {
    for (const client of clients) await client.close();
    for (const service of services.reverse()) await service.close().catch(() => {});
    await partition?.close();
    await pipeline.close();
  };
  try {
    const logDir = join(stackHome, 'logs', `faults-${pipeline.ns}`);
    mkdirSync(logDir, { recursive: true });
    const dlqTopic = `${pipeline.ns}.dlq`;
    await createTopic(dlqTopic);

    const redisPort = await freePort();
    const redis = redisService(redisPort, logDir);
    services.push(redis);
    await redis.start();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const gatewayRedisUrls = new Map<string, string>();

    const workerService = async (name: string) => {
      const workerPort = await freePort();
      return new Service({
        name,
        command: process.execPath,
        args: ['--import', 'tsx', 'src/main.ts'],
        cwd: join(repoRoot, 'worker'),
        env: {
          PATH: process.env.PATH,
          KAFKA_BROKERS,
          KAFKA_CLIENT_ID: `${name}-${pipeline.ns}`,
          KAFKA_GROUP: `worker-${pipeline.ns}`,
          ORDERS_TOPIC: pipeline.topic,
          DLQ_TOPIC: dlqTopic,
          // A killed worker's partitions move to its successor this soon.
          KAFKA_SESSION_TIMEOUT_MS: '10000',
          REDIS_URL: redisUrl,
          REDIS_NS: pipeline.ns,
          WORKER_PORT: String(workerPort),
          WORKER_HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
          ...options.worker,
        },
        logFile: join(logDir, `${name}.log`),
        ready: () => httpOk(`http://127.0.0.1:${workerPort}/readyz`),
        readyTimeoutMs: 120_000,
      });
    };
    const worker = await workerService('worker');
    services.push(worker);
    if (!options.workerStopped) await worker.start();
    const secondWorker = async () => {
      const second = await workerService('worker-2');
      services.push(second);
      return second;
    };

    const secret = randomBytes(32).toString('hex');
    const gateways: Service[] = [];
    if (options.partitionFirstGateway) {
      const proxy = new PartitionProxy(redisPort);
      partition = proxy;
      const proxyPort = await proxy.start();
      gatewayRedisUrls.set('gw-a', `redis://127.0.0.1:${proxyPort}`);
    }
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
          REDIS_URL: gatewayRedisUrls.get(id) ?? redisUrl,
          REDIS_NS: pipeline.ns,
          DATABASE_READER_URL: pipeline.readerUrl,
          GATEWAY_HEARTBEAT_MS: '500',
          AUTH_MODE: 'production',
          JWT_SECRET: secret,
          METRICS_TOKEN,
          // The protocol clients send no Origin; a production gateway still needs its list.
          ALLOWED_ORIGINS: 'http://127.0.0.1:5173',
          // Lapse detection needs the worker's TTL, whatever a case set it to.
          ...(options.worker?.GATEWAY_TTL_MS === undefined
            ? {}
            : { GATEWAY_TTL_MS: options.worker.GATEWAY_TTL_MS }),
          LOG_LEVEL: 'info',
        },
        logFile: join(logDir, `${id}.log`),
        ready: () => httpOk(`http://127.0.0.1:${port}/readyz`),
      });
      services.push(gateway);
      gateways.push(gateway);
      await gateway.start();
    }
    const gatewayHttpUrls = () => gateways.map((g) => `http://127.0.0.1:${g.spec.env.PORT}`);
    const gatewayUrls = () => gatewayHttpUrls().map((url) => `${url.replace('http', 'ws')}/ws`);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = await sign({ role: 'staff', exp }, secret, 'HS256');
    const aliceToken = await sign({ role: 'customer', customer: 'Alice', exp }, secret, 'HS256');

    const connectClients = async () => {
      const specs: { name: string; filter?: Filter; token: string; customer?: string }[] = [
        { name: 'all', token },
        { name: 'pending-or-paid', filter: { status: ['pending', 'paid'] }, token },
        { name: 'alice', filter: { customer: 'Alice' }, token },
        { name: 'alice-token', token: aliceToken, customer: 'Alice' },
        {
          name: 'alice-token-shipped',
          filter: { status: ['shipped', 'delivered'] },
          token: aliceToken,
          customer: 'Alice',
        },
      ];
      const made = specs.map((spec, i) => {
        // Rotate the gateway list so the clients start on different gateways.
        const rotate = () => {
          const urls = gatewayUrls();
          return [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)];
        };
        return new ProtocolClient({ ...spec, gateways: rotate });
      });
      clients.push(...made);
      await Promise.all(made.map((c) => c.connect()));
      return made;
    };

    const closeClients = async () => {
      for (const client of clients.splice(0)) await client.close();
    };

    const crashed = () =>
      services
        .filter((service) => service.unexpectedExits > 0)
        .map((service) => `${service.spec.name} (${service.unexpectedExits}×)`);
    const crashes = () => crashed().join(', ') || 'no crashes';

    return {
      crashes,
      crashed,
      stackHome,
      logDir,
      pipeline,
      redis,
      redisPort,
      worker,
      secondWorker,
      gateways,
      partition,
      gatewayUrls,
      gatewayHttpUrls,
      connectClients,
      closeClients,
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

async function createTopic(topic: string): Promise<void> {
  const admin = new Kafka({
    clientId: 'fault-suite',
    brokers: [KAFKA_BROKERS],
    logLevel: logLevel.NOTHING,
  }).admin();
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

/**
 * A test file's environment: created before its first case, the case's clients closed after
 * each case, everything closed after the last. Returns the environment once created.
 */
export function useEnvironment(options: EnvironmentOptions = {}): () => Environment {
  let env: Environment | undefined;
  beforeAll(async () => {
    env = await createEnvironment(options);
  });
  afterEach(async () => {
    await env?.closeClients();
  });
  afterAll(async () => {
    await env?.close();
  });
  return () => {
    if (env === undefined) throw new Error('the environment is made in beforeAll');
    return env;
  };
}
