/**
 * Redis going back in time: a failover to a replica that lagged, or a crash that lost the
 * last second of an append-only file. The keys survive (epoch, marks, history) but lack the
 * last writes, while the worker already committed those Kafka offsets. Simulated exactly on
 * the suite's namespace: every key is copied aside at one moment and copied back later.
 *
 * The worker must notice (it knows what it wrote), rotate the epoch once, so every
 * subscription resets instead of resuming into a history that lost entries, and forward the
 * lost window again from Kafka.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { change, row } from './support/debezium.ts';
import type { TestRedis } from './support/services.ts';
import { expectExactlyOnce, readStream, waitFor, waitForLength } from './support/streams.ts';
import { createWorkerSuite } from './support/suite.ts';
import { type RunningWorker, readyWithin, startWorker, total } from './support/worker.ts';

/** Every key of the namespace as it is now; `restore()` puts exactly that state back. */
async function savePoint(redis: TestRedis, ns: string): Promise<{ restore(): Promise<void> }> {
  const keys = async () => {
    const found: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: `{${ns}}:*`, COUNT: 1_000 })) found.push(...batch);
    return found;
  };
  const saved = await keys();
  const aside = (key: string) => `saved:${key}`;
  // One MULTI: the copies are one moment of the namespace.
  const copy = redis.multi();
  for (const key of saved) copy.copy(key, aside(key), { REPLACE: true });
  await copy.exec();
  return {
    async restore() {
      const back = redis.multi();
      for (const key of await keys()) if (!saved.includes(key)) back.del(key);
      for (const key of saved) back.copy(aside(key), key, { REPLACE: true });
      for (const key of saved) back.del(aside(key));
      await back.exec();
    },
  };
}

describe('worker: Redis that went back in time [P26]', () => {
  const env = createWorkerSuite('regress', { partitions: 1, gatewayTtlMs: 60_000, gateways: ['gw-a'] });
  const { suite } = env;
  const { keys } = suite;
  let running: RunningWorker;
  let nextId = 1;

  beforeAll(async () => {
    running = await startWorker(suite, 'regress-1', undefined, { regressionCheckMs: 200 });
    await readyWithin(running.worker);
  });
  env.cleanup(async () => {
    await running?.stop();
  });

  const rotations = () => total(running.metrics.epochRotations);
  /** Inserts `count` new orders; resolves once history holds `expected` entries. */
  async function insert(count: number, expected: number): Promise<void> {
    const messages = Array.from({ length: count }, () => change('c', null, row(nextId++, 1)));
    await env.producer.send({ topic: suite.topic, messages });
    await waitForLength(env.redis, keys.history, expected);
  }

  it('a loss found by the next forward: new epoch, the lost window forwarded again, once', async () => {
    const { redis } = env;
    await insert(10, 10);
    const epoch = await redis.get(keys.epoch);
    const point = await savePoint(redis, suite.ns);
    await insert(10, 20);
    const before = await rotations();
    await point.restore();
    expect(await redis.xLen(keys.history)).toBe(10);

    await insert(5, 25);
    const history = await readStream(redis, keys.history);
    expectExactlyOnce(history, 25);
    expect(history.map((e) => e.change.row.id)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(await redis.get(keys.epoch)).not.toBe(epoch);
    expect((await rotations()) - before).toBe(1);
  });

  it('a loss while nothing is forwarded: the epoch turns over without waiting for a write', async () => {
    const { redis } = env;
    const length = await redis.xLen(keys.history);
    const point = await savePoint(redis, suite.ns);
    await insert(5, length + 5);
    const epoch = await redis.get(keys.epoch);
    const before = await rotations();
    await point.restore();
    expect(await redis.get(keys.epoch)).toBe(epoch);

    await waitFor('the epoch to turn over', async () => (await redis.get(keys.epoch)) !== epoch);
    // The next write finds the same loss, already covered: the window comes back, no second rotation.
    await insert(1, length + 6);
    const history = await readStream(redis, keys.history);
    expectExactlyOnce(history, length + 6);
    expect((await rotations()) - before).toBe(1);
  });

  it('a loss found by a worker that starts after it: offsets committed past the mark', async () => {
    const { redis } = env;
    const length = await redis.xLen(keys.history);
    const point = await savePoint(redis, suite.ns);
    await insert(5, length + 5);
    // A graceful stop commits what was forwarded; the new worker knows nothing of it.
    await running.stop();
    const epoch = await redis.get(keys.epoch);
    await point.restore();

    running = await startWorker(suite, 'regress-2', undefined, { regressionCheckMs: 200 });
    await readyWithin(running.worker);
    await insert(1, length + 6);
    const history = await readStream(redis, keys.history);
    expectExactlyOnce(history, length + 6);
    expect(await redis.get(keys.epoch)).not.toBe(epoch);
    expect(await rotations()).toBe(1);
  });
});

describe('worker: REDIS_WAIT_REPLICAS', () => {
  const env = createWorkerSuite('waitrep', { partitions: 1 });
  const { suite } = env;
  let running: RunningWorker;
  let acked = 0;
  const waits: number[] = [];

  beforeAll(async () => {
    // The suite's Redis has no replicas: the real `WAIT` would always answer 0, so the test
    // decides how many replicas acknowledged and watches the commits follow.
    running = await startWorker(
      suite,
      'waitrep-1',
      undefined,
      { commitIntervalMs: 0 },
      {
        replicas: {
          count: 1,
          timeoutMs: 50,
          wait: async (count) => {
            waits.push(count);
            return acked;
          },
        },
      },
    );
    await readyWithin(running.worker);
  });
  env.cleanup(async () => {
    await running?.stop();
  });

  const committed = async () => {
    const [offsets] = await env.admin.fetchOffsets({ groupId: suite.group, topics: [suite.topic] });
    return offsets?.partitions[0]?.offset;
  };

  it('forwards at once but commits Kafka offsets only once the replicas have the writes', async () => {
    await env.producer.send({
      topic: suite.topic,
      messages: [1, 2, 3].map((id) => change('c', null, row(id, 1))),
    });
    await waitForLength(env.redis, suite.keys.history, 3);
    await waitFor('a commit to be put off', async () => (await total(running.metrics.commitsDeferred)) > 0);
    expect(await committed()).toBe('-1');
    expect(waits.every((count) => count === 1)).toBe(true);

    acked = 1;
    await env.producer.send({ topic: suite.topic, messages: [change('c', null, row(4, 1))] });
    await waitFor('the offsets to be committed', async () => (await committed()) === '4');
  });
});
