/** The in-process worker against real Kafka and Redis. */
import { CHANGE_FIELD, RESET_FIELD, readPartitionCount, type StreamChange } from '@orders/contract/redis';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { DLQ_HEADERS } from '../src/dead-letter.ts';
import { runGatewayReaper } from '../src/reaper.ts';
import { burst, change, row } from './support/debezium.ts';
import {
  expectExactlyOnce,
  expectGatewaysMatch,
  readRaw,
  readStream,
  waitFor,
  waitForAllCommitted,
  waitForLength,
} from './support/streams.ts';
import { createWorkerSuite } from './support/suite.ts';
import { type RunningWorker, readyWithin, startWorker, total } from './support/worker.ts';

describe('worker against Kafka and Redis', () => {
  // gw-quiet heartbeats once and is then left to expire.
  const env = createWorkerSuite('wk', {
    partitions: 4,
    gatewayTtlMs: 1_500,
    gateways: ['gw-a', 'gw-b', 'gw-quiet'],
    alive: ['gw-a', 'gw-b'],
  });
  const { suite } = env;
  let running: RunningWorker;

  beforeAll(async () => {
    running = await startWorker(suite, 'wk-1');
    await readyWithin(running.worker);
  });
  env.cleanup(async () => {
    await running?.stop();
  });

  it('forwards every change exactly once, in order per order, with one id everywhere', async () => {
    const { redis, producer } = env;
    const messages = burst(40, 25); // 40 inserts + 1000 updates
    await producer.send({ topic: suite.topic, messages });
    await waitForLength(redis, suite.keys.history, messages.length);

    const history = await readStream(redis, suite.keys.history);
    expectExactlyOnce(history, messages.length);
    await expectGatewaysMatch(redis, suite.keys, ['gw-a', 'gw-b'], messages.length, history);
    const first = history[0]?.change;
    expect(first?.kafka.topic).toBe(suite.topic);
    expect(first?.row.customerName).toMatch(/^customer-/);
  });

  it('commits the last records of a topic gone quiet, with nothing more arriving', async () => {
    const { redis, producer } = env;
    // The second send lands within the commit interval of the first one's commit: only a commit
    // made when the topic goes quiet covers it.
    const start = await redis.xLen(suite.keys.history);
    await producer.send({ topic: suite.topic, messages: burst(2, 1, 9_001) });
    await waitForLength(redis, suite.keys.history, start + 4);
    await producer.send({ topic: suite.topic, messages: burst(2, 1, 9_101) });
    await waitForLength(redis, suite.keys.history, start + 8);
    await waitForAllCommitted(env.admin, suite, 'every record of the topic to be committed', 30_000);
  });

  it('tells the gateways how many partitions the topic has', async () => {
    expect(await env.redis.get(suite.keys.partitions)).toBe('4');
    expect(await readPartitionCount(env.redis, suite.keys)).toBe(4);
  });

  it('dead-letters poison records with a reason, puts a reset marker in the place of each, and keeps forwarding', async () => {
    const { redis, kafka, producer } = env;
    const before = await redis.xLen(suite.keys.history);
    const dlqConsumer = kafka.consumer({
      groupId: `${suite.group}-dlq-reader`,
      allowAutoTopicCreation: false,
    });
    const letters: { reason?: string; offset?: string; value: string }[] = [];
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topic: suite.dlq, fromBeginning: true });
    await dlqConsumer.run({
      eachMessage: async ({ message }) => {
        letters.push({
          reason: message.headers?.[DLQ_HEADERS.reason]?.toString(),
          offset: message.headers?.[DLQ_HEADERS.offset]?.toString(),
          value: message.value?.toString() ?? '',
        });
      },
    });

    const key = JSON.stringify({ id: 500 });
    await producer.send({
      topic: suite.topic,
      messages: [
        { key, value: 'this is not json' },
        { key, value: JSON.stringify({ op: 'c', after: { id: 500 } }) },
        { key, value: null }, // tombstone: ignored, not a dead letter
        change('c', null, { ...row(500, 1), status: 'lost' as 'paid' }),
        change('c', null, row(500, 1)),
        change('u', row(500, 1), row(500, 2)),
      ],
    });

    await waitForLength(redis, suite.keys.history, before + 5);
    await waitFor('three dead letters', async () => letters.length >= 3);
    await dlqConsumer.disconnect();

    expect(letters.map((l) => l.reason).sort()).toEqual(['invalid_envelope', 'invalid_row', 'not_json']);
    expect(letters.find((l) => l.reason === 'not_json')?.value).toBe('this is not json');
    expect(letters.every((l) => l.offset !== undefined)).toBe(true);
    // A change that never arrives is a gap: every subscription is reset where it would have been.
    const tail = (await readRaw(redis, suite.keys.history)).slice(before);
    const describeEntry = ({ fields }: { fields: Record<string, string> }) => {
      if (fields[RESET_FIELD] !== undefined) return `reset ${fields[RESET_FIELD]}`;
      const { op, row: changed } = JSON.parse(fields[CHANGE_FIELD] ?? 'null') as StreamChange;
      return `${op} ${changed.id}@${changed.version}`;
    };
    expect(tail.map(describeEntry)).toEqual([
      'reset undeliverable',
      'reset undeliverable',
      'reset undeliverable',
      'insert 500@1',
      'update 500@2',
    ]);
    for (const gateway of ['gw-a', 'gw-b']) {
      const entries = await readRaw(redis, suite.keys.gatewayStream(gateway), tail[0]?.id);
      expect(entries.map((e) => e.id)).toEqual(tail.map((e) => e.id));
      expect(entries.map(describeEntry)).toEqual(tail.map(describeEntry));
    }
    const metrics = await running.metrics.registry.getSingleMetricAsString('worker_dead_letters_total');
    expect(metrics).toContain('reason="not_json"} 1');
    const markers = await running.metrics.registry.getSingleMetricAsString('worker_reset_markers_total');
    expect(markers).toContain('reason="undeliverable"} 3');
  });

  it('adds nothing when every offset is redelivered (worst case of a crash before commit)', async () => {
    const { redis, admin } = env;
    const history = await readRaw(redis, suite.keys.history);
    await running.stop();
    // Rewind the group to the start: every record comes back, as if no commit had ever happened.
    await admin.resetOffsets({ groupId: suite.group, topic: suite.topic, earliest: true });
    running = await startWorker(suite, 'wk-2');
    await readyWithin(running.worker);
    const skipped = () => total(running.metrics.duplicatesSkipped);
    await waitFor(
      'every change to be redelivered and skipped',
      async () => (await skipped()) >= history.length,
    );
    expect(await skipped()).toBe(history.length);
    const again = await readRaw(redis, suite.keys.history);
    expect(again.map((e) => e.id)).toEqual(history.map((e) => e.id));
  });

  it('stops feeding a gateway whose heartbeat stopped and deletes its stream after the TTL', async () => {
    const { redis, producer } = env;
    // gw-quiet heartbeated once, before the worker started, and never again.
    await waitFor('gw-quiet to expire', async () => {
      const score = await redis.zScore(suite.keys.gateways, 'gw-quiet');
      const [seconds] = await redis.time();
      return score !== null && Number(seconds) * 1000 - score > suite.gatewayTtlMs + 200;
    });
    const quietBefore = await redis.xLen(suite.keys.gatewayStream('gw-quiet'));
    const historyBefore = await redis.xLen(suite.keys.history);
    await producer.send({ topic: suite.topic, messages: [change('c', null, row(900, 1))] });
    await waitForLength(redis, suite.keys.history, historyBefore + 1);
    expect(await redis.xLen(suite.keys.gatewayStream('gw-quiet'))).toBe(quietBefore);

    // The reaper is what deletes it; main.ts runs it next to the worker.
    const abort = new AbortController();
    const reaper = runGatewayReaper({
      redis,
      keys: suite.keys,
      logger: pino({ level: 'silent' }),
      gatewayTtlMs: suite.gatewayTtlMs,
      signal: abort.signal,
    });
    await waitFor('gw-quiet stream to be deleted', async () => {
      return (await redis.exists(suite.keys.gatewayStream('gw-quiet'))) === 0;
    });
    abort.abort();
    await reaper;
    expect(await redis.zScore(suite.keys.gateways, 'gw-quiet')).toBeNull();
    expect(await redis.exists(suite.keys.gatewayStream('gw-a'))).toBe(1);
  });
});
