/**
 * Connections to the real services the integration suites run against. A missing service
 * makes the suite fail with a message saying which one, never skip.
 */
import { randomBytes } from 'node:crypto';
import { type Admin, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { createClient } from 'redis';

export const KAFKA_BROKERS = ['127.0.0.1:9092'];
export const REDIS_URL = 'redis://127.0.0.1:6379';

export type TestRedis = ReturnType<typeof createTestRedisClient>;

function createTestRedisClient() {
  return createClient({ url: REDIS_URL, socket: { connectTimeout: 3_000, reconnectStrategy: false } });
}

/** A unique, readable name per suite run: namespaces, topics and groups never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function connectRedis(): Promise<TestRedis> {
  const redis = createTestRedisClient();
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is required at ${REDIS_URL} for this suite: ${String(error)}`);
  }
  return redis;
}

/** Deletes every key of a test namespace (all share its hash tag). */
export async function dropNamespace(redis: TestRedis, ns: string): Promise<void> {
  for await (const batch of redis.scanIterator({ MATCH: `{${ns}}:*`, COUNT: 1_000 })) {
    if (batch.length > 0) await redis.del(batch);
  }
}

export function createTestKafka(clientId = 'worker-tests'): Kafka {
  return new Kafka({
    clientId,
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 3, initialRetryTime: 200 },
  });
}

export async function connectAdmin(kafka: Kafka): Promise<Admin> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (error) {
    throw new Error(`Kafka is required at ${KAFKA_BROKERS.join(',')} for this suite: ${String(error)}`);
  }
  return admin;
}

/**
 * Topics are created up front (the worker never auto-creates). Log-append time makes the
 * record timestamp the broker's append time, which is what the latency metric measures from.
 */
export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: partitions,
        replicationFactor: 1,
        configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
      },
    ],
  });
  if (!created) throw new Error(`topic ${topic} already exists`);
}

export async function connectProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return producer;
}
