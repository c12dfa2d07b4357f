import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPipeline, type TestPipeline } from '../src/index.ts';

type Row = {
  id: number;
  customer_name: string;
  product_name: string;
  status: string;
  version: number;
  created_at: string;
  updated_at: string;
};
type ChangeEvent = { op: string; before: Row | null; after: Row | null; source: { table: string } };
type Received = { key: unknown; partition: number; offset: string; event: ChangeEvent };

let pipeline: TestPipeline;

beforeAll(async () => {
  pipeline = await createTestPipeline({ partitions: 4 });
});

afterAll(async () => {
  await pipeline?.close();
});

/** Consumes the topic from the beginning until `until` holds or the deadline passes. */
async function consume(topic: string, until: (received: Received[]) => boolean, deadlineMs: number) {
  const kafka = new Kafka({ clientId: 'cdc-test', brokers: pipeline.kafkaBrokers, logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: `cdc-test-${pipeline.ns}`, allowAutoTopicCreation: false });
  const received: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        if (message.value === null) return;
        received.push({
          key: message.key ? JSON.parse(message.key.toString()) : null,
          partition,
          offset: message.offset,
          event: JSON.parse(message.value.toString()) as ChangeEvent,
        });
        if (until(received)) done();
      },
    });
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), deadlineMs));
    const outcome = await Promise.race([finished.then(() => 'ok' as const), timeout]);
    if (outcome === 'timeout') {
      const ops = received.map((r) => `${r.event.op}#${r.event.after?.id ?? r.event.before?.id}`).join(', ');
      throw new Error(`Only ${received.length} events within ${deadlineMs} ms on ${topic}: [${ops}]`);
    }
    return received;
  } finally {
    await consumer.disconnect();
  }
}

describe('PostgreSQL → Debezium → Kafka', () => {
  it('delivers an INSERT, UPDATE and DELETE made with plain SQL, in order, with full rows', async () => {
    const { sql, topic } = pipeline;
    const [inserted] = await sql<Row[]>`
      INSERT INTO orders (customer_name, product_name) VALUES ('Alice Martin', 'Espresso machine')
      RETURNING id`;
    if (!inserted) throw new Error('insert returned no row');
    const id = inserted.id;
    await sql`UPDATE orders SET status = 'paid' WHERE id = ${id}`;
    await sql`DELETE FROM orders WHERE id = ${id}`;

    const received = await consume(topic, (events) => events.length >= 3, 30_000);

    const events = received.map((r) => r.event);
    expect(events.map((e) => e.op)).toEqual(['c', 'u', 'd']);
    // One key, so one partition: the order of the three is guaranteed, not lucky.
    expect(new Set(received.map((r) => r.partition)).size).toBe(1);
    expect(received.map((r) => r.key)).toEqual([{ id }, { id }, { id }]);

    const [create, update, remove] = events;
    expect(create?.before).toBeNull();
    expect(create?.after).toMatchObject({
      id,
      customer_name: 'Alice Martin',
      product_name: 'Espresso machine',
      status: 'pending',
      version: 1,
    });
    expect(create?.source.table).toBe('orders');
    // timestamptz arrives as an ISO-8601 string (Debezium ZonedTimestamp), not epoch micros.
    expect(create?.after?.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);

    // REPLICA IDENTITY FULL: the update's `before` is the whole old row, not just the key.
    expect(update?.before).toEqual(create?.after);
    expect(update?.after).toMatchObject({ id, status: 'paid', version: 2, customer_name: 'Alice Martin' });
    expect(update?.after?.created_at).toBe(create?.after?.created_at);
    expect(Date.parse(update?.after?.updated_at ?? '')).toBeGreaterThan(
      Date.parse(create?.after?.updated_at ?? ''),
    );

    expect(remove?.before).toEqual(update?.after);
    expect(remove?.after).toBeNull();
  });
});
