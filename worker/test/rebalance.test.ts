/** Two workers in one group, a second one joining and the first leaving mid-burst. */
import { describe, expect, it } from 'vitest';
import { burst, gate, trickle } from './support/debezium.ts';
import {
  expectExactlyOnce,
  expectGatewaysMatch,
  readStream,
  waitFor,
  waitForIdle,
  waitForLength,
} from './support/streams.ts';
import { createWorkerSuite } from './support/suite.ts';
import { type RunningWorker, readyWithin, startWorker, total } from './support/worker.ts';

const GATEWAYS = ['gw-1', 'gw-2', 'gw-3'];

describe('rebalance mid-burst', () => {
  const env = createWorkerSuite('rebal', { partitions: 6, gateways: GATEWAYS });
  const { suite } = env;
  const running: RunningWorker[] = [];
  env.cleanup(async () => {
    for (const worker of running) await worker.stop().catch(() => {});
  });
  const consumed = (worker: RunningWorker) => total(worker.metrics.consumed);

  it('stays exactly-once while partitions move between workers', async () => {
    const { redis, producer } = env;
    const messages = burst(120, 60); // 120 inserts + 7,200 updates
    const first = await startWorker(suite, 'rebal-1');
    running.push(first);
    await readyWithin(first.worker);

    const { released, release } = gate();
    // The last 2,000 records are held back until the first worker has left.
    const sending = trickle(producer, suite.topic, messages, {
      holdFrom: messages.length - 2_000,
      release: released,
    });
    await waitForLength(redis, suite.keys.history, 1_000, 90_000);
    const second = await startWorker(suite, 'rebal-2');
    running.push(second);
    await readyWithin(second.worker);
    await waitFor('the second worker to take partitions', async () => (await consumed(second)) > 0, 60_000);

    // The first worker leaves while the burst is still being forwarded.
    const atLeave = await redis.xLen(suite.keys.history);
    expect(atLeave).toBeLessThan(messages.length);
    await first.stop();
    release();

    await sending;
    await waitForLength(redis, suite.keys.history, messages.length, 120_000);
    await waitForIdle(redis, suite.keys.history, 'the group to go idle');

    const history = await readStream(redis, suite.keys.history);
    expectExactlyOnce(history, messages.length);
    await expectGatewaysMatch(redis, suite.keys, GATEWAYS, messages.length, history);
    expect(await consumed(first)).toBeGreaterThan(0);
  });
});
