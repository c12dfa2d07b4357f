/**
 * The services as they ship: `npm run build` bundles the worker and the gateway to dist/, and
 * `node dist/main.js` runs each as a process of its own (production auth for the gateway), on a
 * private database, connector, topic and Redis namespace. A client that speaks only the wire
 * protocol (through the conformance checker) sees an INSERT and an UPDATE made in PostgreSQL,
 * and both processes stop cleanly on SIGTERM.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { redisKeys } from '@orders/contract/redis';
import {
  createTestKafka,
  createTestPipeline,
  dropRedisNamespace,
  type GatewayProcess,
  type ServiceProcess,
  spawnGateway,
  spawnWorker,
  type TestPipeline,
  waitFor,
} from '@orders/test-harness';
import { sign } from 'hono/jwt';
import type { Admin } from 'kafkajs';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolClient } from './faults/protocol-client.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** The native stack's Redis; the suite keeps to a namespace of its own. */
const REDIS_URL = 'redis://127.0.0.1:6379';

describe('the compiled worker and gateway', () => {
  const builtAfter = Date.now();
  const secret = randomBytes(32).toString('hex');
  const redis = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false } });
  redis.on('error', () => {});
  let pipeline: TestPipeline | undefined;
  let admin: Admin | undefined;
  let worker: ServiceProcess | undefined;
  let gateway: GatewayProcess | undefined;
  let client: ProtocolClient | undefined;

  beforeAll(async () => {
    await promisify(execFile)(
      'npm',
      ['run', 'build', '--workspace', '@orders/worker', '--workspace', '@orders/gateway'],
      { cwd: root },
    );
    try {
      await redis.connect();
    } catch (error) {
      throw new Error(`Redis is required at ${REDIS_URL} (start the stack: npm run stack:up)`, {
        cause: error,
      });
    }
    pipeline = await createTestPipeline({ partitions: 2 });
    const { ns, topic } = pipeline;
    admin = createTestKafka(`${ns}-admin`, pipeline.kafkaBrokers).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: `${topic}.dlq`, numPartitions: 1 }], waitForLeaders: true });
    const production = { NODE_ENV: 'production', REDIS_URL, REDIS_NS: ns };
    worker = await spawnWorker(
      `${ns}-worker`,
      {
        ...production,
        KAFKA_BROKERS: pipeline.kafkaBrokers.join(','),
        KAFKA_CLIENT_ID: `${ns}-worker`,
        KAFKA_GROUP: `${ns}-worker`,
        ORDERS_TOPIC: topic,
        DLQ_TOPIC: `${topic}.dlq`,
      },
      { compiled: true },
    );
    gateway = await spawnGateway(
      `${ns}-gateway`,
      {
        ...production,
        DATABASE_READER_URL: pipeline.readerUrl,
        AUTH_MODE: 'production',
        JWT_SECRET: secret,
        ALLOWED_ORIGINS: 'http://127.0.0.1:5173',
      },
      undefined,
      [],
      { compiled: true },
    );
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.kill('SIGKILL');
    await worker?.kill('SIGKILL');
    if (pipeline !== undefined) {
      await admin?.deleteTopics({ topics: [`${pipeline.topic}.dlq`] }).catch(() => {});
      await pipeline.close();
      await dropRedisNamespace(redis, pipeline.ns);
    }
    await admin?.disconnect();
    if (redis.isOpen) await redis.close();
  });

  it('run from the bundles the build just wrote', () => {
    for (const [service, child] of [
      ['worker', worker?.child],
      ['gateway', gateway?.child],
    ] as const) {
      expect(child?.spawnargs.at(-1), service).toBe('dist/main.js');
      expect(child?.spawnargs.join(' '), service).not.toContain('tsx');
      expect(statSync(`${root}${service}/dist/main.js`).mtimeMs, service).toBeGreaterThanOrEqual(builtAfter);
    }
  });

  it('deliver an INSERT and an UPDATE to a wire-protocol client', async () => {
    if (pipeline === undefined || gateway === undefined) throw new Error('the services did not start');
    const { sql } = pipeline;
    const gatewayUrl = gateway.url;
    const token = await sign({ role: 'staff', exp: Math.floor(Date.now() / 1000) + 3600 }, secret, 'HS256');
    const protocolClient = new ProtocolClient({ name: 'compiled', gateways: () => [gatewayUrl], token });
    client = protocolClient;
    await protocolClient.connect();
    await waitFor(
      async () => (protocolClient.frames.some(({ frame }) => frame.type === 'live') ? true : undefined),
      {
        description: 'the subscription to go live',
        timeoutMs: 30_000,
      },
    );

    const [inserted] = await sql<{ id: number }[]>`
      INSERT INTO orders (customer_name, product_name) VALUES ('Alice', 'Kettle') RETURNING id`;
    const id = inserted?.id ?? -1;
    await waitFor(async () => protocolClient.view.get(id), {
      description: `order ${id} to reach the client`,
      timeoutMs: 60_000,
    });
    await sql`UPDATE orders SET status = 'paid' WHERE id = ${id}`;
    await waitFor(async () => (protocolClient.view.get(id)?.status === 'paid' ? true : undefined), {
      description: `the update of order ${id} to reach the client`,
      timeoutMs: 60_000,
    });

    expect(
      protocolClient.changeFrames().map((f) => [f.op, f.effect, f.row.id, f.row.version, f.row.status]),
    ).toEqual([
      ['insert', 'upsert', id, 1, 'pending'],
      ['update', 'upsert', id, 2, 'paid'],
    ]);
    expect(protocolClient.conformanceViolations()).toEqual([]);
    expect(protocolClient.violations).toEqual({
      duplicates: [],
      notNewer: [],
      gaps: [],
      unannouncedSnapshots: 0,
      bad: [],
    });
    expect(protocolClient.reconnects).toBe(0);
  });

  it('stop cleanly on SIGTERM: exit code 0, the gateway deregistered', async () => {
    if (pipeline === undefined || gateway === undefined || worker === undefined)
      throw new Error('the services did not start');
    await client?.close();
    const keys = redisKeys(pipeline.ns);
    expect(await redis.zScore(keys.gateways, gateway.id)).not.toBeNull();
    expect(await gateway.kill('SIGTERM')).toBe(0);
    expect(await redis.zScore(keys.gateways, gateway.id)).toBeNull();
    expect(await redis.exists(keys.gatewayStream(gateway.id))).toBe(0);
    expect(await worker.kill('SIGTERM')).toBe(0);
  });
});
