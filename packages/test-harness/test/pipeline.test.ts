import { env } from '@orders/drizzle/env';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { ConnectApi } from '../src/connect-api.ts';
import { createTestPipeline } from '../src/index.ts';
import { connectKafkaAdmin } from '../src/kafka-admin.ts';
import { slotPrefix } from '../src/stack-id.ts';

describe('createTestPipeline', () => {
  it('gives a private pipeline and leaves nothing behind on close()', async () => {
    const pipeline = await createTestPipeline({ partitions: 2 });
    const { ns, topic, slot: slotName } = pipeline;
    expect(ns).toMatch(/^t[0-9a-f]{6}$/);
    expect(slotName).toBe(`${slotPrefix()}${ns}`);
    expect(slotName).toMatch(/^orders_[a-z0-9]{1,16}_t[0-9a-f]{6}$/);
    expect(topic).toBe(`${ns}.public.orders`);

    const connect = new ConnectApi(env.CONNECT_URL);
    const admin = await connectKafkaAdmin(env.KAFKA_BROKERS, 'pipeline-test');
    const server = postgres(env.DATABASE_URL, { max: 1 });
    try {
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      expect(metadata?.partitions).toHaveLength(2);
      expect((await connect.status(`test-${ns}`))?.connector.state).toBe('RUNNING');
      const [slot] =
        await server`SELECT database, active FROM pg_replication_slots WHERE slot_name = ${slotName}`;
      expect(slot).toEqual({ database: `orders_${ns}`, active: true });

      await pipeline.close();

      expect(await connect.exists(`test-${ns}`)).toBe(false);
      expect(await server`SELECT 1 FROM pg_replication_slots WHERE slot_name = ${slotName}`).toHaveLength(0);
      expect(await server`SELECT 1 FROM pg_database WHERE datname = ${`orders_${ns}`}`).toHaveLength(0);
      const topics = await admin.listTopics();
      expect(topics.filter((name) => name.includes(ns))).toEqual([]);
    } finally {
      await admin.disconnect();
      await server.end({ timeout: 5 });
    }
  });
});
