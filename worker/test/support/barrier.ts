/**
 * "Nothing more arrives" without a sleep. A partition is forwarded in offset order, and a
 * redelivered or retried record is forwarded before anything later in its partition, so once
 * a marker written after everything else has reached history on every partition, any
 * duplicate of an earlier record would already be there.
 */
import type { Producer } from 'kafkajs';
import { change, row } from './debezium.ts';
import type { TestRedis } from './services.ts';
import { type Entry, readStream, waitFor } from './streams.ts';

/** Order ids far above any a suite uses; entries with them are the barrier, not data. */
const MARKER_BASE = 900_000_000;
export const isMarker = (entry: Entry): boolean => entry.change.row.id >= MARKER_BASE;

/** Produces one marker insert to each partition and waits until all of them are in `key`. */
export async function kafkaBarrier(
  redis: TestRedis,
  producer: Producer,
  topic: string,
  partitions: number,
  key: string,
  timeoutMs = 60_000,
): Promise<void> {
  const base = MARKER_BASE + Math.floor(Math.random() * 1_000_000) * 100;
  const ids = Array.from({ length: partitions }, (_, p) => base + p);
  await producer.send({
    topic,
    messages: ids.map((id, partition) => ({ ...change('c', null, row(id, 1)), partition })),
  });
  await waitFor(
    `barrier markers on all ${partitions} partitions`,
    async () => {
      const seen = new Set((await readStream(redis, key)).map((e) => e.change.row.id));
      return ids.every((id) => seen.has(id));
    },
    timeoutMs,
  );
}

/**
 * The same through PostgreSQL and Debezium, where the partition of a row is the connector's
 * choice: inserts marker rows one by one until markers have reached `key` on all partitions.
 */
export async function sqlBarrier(
  redis: TestRedis,
  insert: (id: number) => Promise<unknown>,
  partitions: number,
  key: string,
  timeoutMs = 60_000,
): Promise<void> {
  const covered = new Set<number>();
  for (let i = 0; covered.size < partitions; i++) {
    if (i >= 20 * partitions) throw new Error(`markers reached only partitions ${[...covered]}`);
    const id = MARKER_BASE + i;
    await insert(id);
    const entry = await waitFor(
      `barrier marker ${id}`,
      async () => (await readStream(redis, key)).find((e) => e.change.row.id === id),
      timeoutMs,
    );
    covered.add(entry.change.kafka.partition);
  }
}
