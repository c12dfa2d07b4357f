/**
 * Redis failing under the worker: calls that fail outright, and calls that run but whose
 * reply is lost (the connection drops after the script ran). The worker must back off,
 * retry, and still write each change exactly once.
 */

import type { RedisClient } from '@orders/contract/redis';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMarker, kafkaBarrier } from './support/barrier.ts';
import { burst } from './support/debezium.ts';
import { expectExactlyOnce, readStream, waitFor, waitForLength } from './support/streams.ts';
import { createWorkerSuite } from './support/suite.ts';
import { type RunningWorker, readyWithin, startWorker, total } from './support/worker.ts';

type Mode = 'up' | 'down' | 'lose-replies';

/** Wraps the worker's client: `down` rejects every script, `lose-replies` runs it and then rejects. */
function faultyRedis(client: RedisClient, mode: () => Mode): RedisClient {
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    if (mode() === 'down') throw new Error('injected: connection refused');
    const reply = await run();
    if (mode() === 'lose-replies') throw new Error('injected: connection reset after the script ran');
    return reply;
  };
  return {
    evalSha: (sha, options) => call(() => client.evalSha(sha, options)),
    eval: (script, options) => call(() => client.eval(script, options)),
    get isReady() {
      return client.isReady && mode() !== 'down';
    },
  };
}

describe('Redis faults under the worker', () => {
  const env = createWorkerSuite('fault', { partitions: 3, gateways: ['gw-1'] });
  const { suite } = env;
  let mode: Mode = 'up';
  let running: RunningWorker;

  beforeAll(async () => {
    running = await startWorker(suite, 'fault-1', (client) => faultyRedis(client, () => mode));
    await readyWithin(running.worker);
  });
  env.cleanup(async () => {
    mode = 'up';
    await running?.stop();
  });

  const errors = () => total(running.metrics.errors);

  it('backs off while Redis is down, then catches up exactly once', async () => {
    const { redis, producer } = env;
    mode = 'down';
    const messages = burst(20, 10);
    await producer.send({ topic: suite.topic, messages });
    await waitFor('failed attempts', async () => (await errors()) >= 3, 30_000);
    expect(await redis.xLen(suite.keys.history)).toBe(0);
    mode = 'up';
    await waitForLength(redis, suite.keys.history, messages.length, 60_000);
    expectExactlyOnce(await readStream(redis, suite.keys.history), messages.length);
  });

  it('does not duplicate when a script ran but its reply was lost', async () => {
    const { redis, producer } = env;
    const before = await readStream(redis, suite.keys.history);
    const failures = await errors();
    mode = 'lose-replies';
    const messages = burst(20, 10, 1_000);
    await producer.send({ topic: suite.topic, messages });
    await waitForLength(redis, suite.keys.history, before.length + messages.length, 60_000);
    await waitFor('a retried attempt', async () => (await errors()) > failures, 30_000);
    mode = 'up';
    // The retries now find everything at or below the mark and add nothing.
    await waitFor(
      'the skips to be counted',
      async () => (await total(running.metrics.duplicatesSkipped)) > 0,
    );
    // A late duplicate from a retry would be forwarded before markers written after it.
    await kafkaBarrier(redis, producer, suite.topic, 3, suite.keys.history);
    const history = await readStream(redis, suite.keys.history);
    const data = history.filter((e) => !isMarker(e));
    expectExactlyOnce(data, before.length + messages.length);
    expectExactlyOnce(await readStream(redis, suite.keys.gatewayStream('gw-1')), history.length, history);
  });
});
