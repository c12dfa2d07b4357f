/**
 * The four latency stages of a change's path are exported as histograms and filled by a real
 * change: PostgreSQL → Debezium → Kafka → worker → Redis → gateway process → socket.
 */

import { parseCursor } from '@orders/contract';
import type { GatewayProcess } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from './support/pipeline.ts';
import { is, openRaw } from './support/raw-socket.ts';
import { staffToken } from './support/tokens.ts';
import { until } from './support/wait.ts';

/** `name_count` and `name_sum` of an unlabelled histogram in Prometheus text. */
function histogram(text: string, name: string): { count: number; sum: number } {
  const value = (suffix: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}_${suffix} `));
    if (line === undefined) throw new Error(`${name}_${suffix} is not exported`);
    return Number(line.slice(line.indexOf(' ') + 1));
  };
  return { count: value('count'), sum: value('sum') };
}

let stack: Stack;
let gateway: GatewayProcess;

beforeAll(async () => {
  stack = await createStack({ partitions: 1, maxlen: 1_000 });
  gateway = await stack.startGateway(`${stack.pipeline.ns}-stages`);
});

afterAll(() => stack?.close());

describe('latency by stage', () => {
  it('exports one histogram per stage, filled by a change that went all the way to a socket', async () => {
    const socket = await openRaw(`${gateway.url}?token=${await staffToken()}`);
    socket.send({ type: 'subscribe', sub: 's1' });
    await socket.next(is('live', 's1'), 30_000);
    const before = histogram(
      await (await fetch(`http://127.0.0.1:${gateway.port}/metrics`)).text(),
      'gateway_read_to_write_seconds',
    );

    await stack.pipeline
      .sql`insert into orders (customer_name, product_name, status) values ('stages', 'widget', 'pending')`;
    const change = await socket.next(is('change', 's1'), 60_000);
    const receivedAt = Date.now();
    socket.close();
    const cursor = parseCursor(change.cursor);
    if (cursor.kind !== 'cursor') throw new Error(`not a cursor: ${change.cursor}`);
    const appendedAt = Number(cursor.cursor.id.split('-')[0]);

    // The worker observes its stages once the append's reply is back, which may be after the
    // gateway already handed the change to the socket: wait for that observation, not a clock.
    let workerText = '';
    await until(async () => {
      workerText = await stack.worker.metrics.registry.metrics();
      return histogram(workerText, 'worker_forward_latency_seconds').count > 0;
    }, 'the worker to observe the forward');
    const commitToKafka = histogram(workerText, 'worker_commit_to_kafka_seconds');
    const kafkaToRedis = histogram(workerText, 'worker_forward_latency_seconds');
    expect(commitToKafka.count).toBe(1);
    expect(kafkaToRedis.count).toBe(1);
    // Commit → Kafka plus Kafka → Redis spans commit → Redis append; each part is clamped at
    // zero (clocks of three processes), so together they cover at least that span.
    expect(commitToKafka.sum + kafkaToRedis.sum).toBeGreaterThanOrEqual(
      (appendedAt - change.committedAt) / 1000 - 1e-9,
    );

    // The gateway observes when its read loop dispatches, just before the frame leaves.
    const gatewayText = await (await fetch(`http://127.0.0.1:${gateway.port}/metrics`)).text();
    const redisToRead = histogram(gatewayText, 'gateway_redis_to_read_seconds');
    const readToWrite = histogram(gatewayText, 'gateway_read_to_write_seconds');
    expect(readToWrite.count).toBe(before.count + 1);
    expect(redisToRead.count).toBe(readToWrite.count);
    // Both gateway stages lie between the Redis append and the client receiving the frame.
    expect(redisToRead.sum + (readToWrite.sum - before.sum)).toBeLessThanOrEqual(
      (receivedAt - appendedAt) / 1000 + 0.001,
    );
    expect(gatewayText).toMatch(/^gateway_redis_to_read_seconds_bucket\{le="0\.0005"\} \d+$/m);
  });
});
