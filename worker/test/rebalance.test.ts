/** Two workers in one group, a second one joining and the first leaving mid-burst. */
import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { burst, gate, trickle } from './support/debezium.ts';
import {
  expectExactlyOnce,
  expectGatewaysMatch,
  readStream,
  waitFor,
  waitForAllCommitted,
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
  /** Partitions a worker has forwarded from (its lag gauge gets a label per partition). */
  const partitionsOf = async (worker: RunningWorker) =>
    new Set((await worker.metrics.lag.get()).values.map((v) => String(v.labels.partition)));

  /** The partitions of the topic the group's coordinator has given the member named `clientId`. */
  const assignedTo = async (clientId: string): Promise<number[]> => {
    const { groups } = await env.admin.describeGroups([suite.group]);
    const member = groups[0]?.members.find((m) => m.clientId === clientId);
    if (member === undefined || member.memberAssignment.length === 0) return [];
    return AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[suite.topic] ?? [];
  };

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
    // Both members share the partitions: the second one has some, not all. (Whether it gets to
    // forward before the first leaves depends on how far the first got, so its assignment counts.)
    const assigned = await waitFor(
      'the second worker to be assigned partitions',
      async () => {
        const partitions = await assignedTo('rebal-2');
        return partitions.length > 0 && partitions;
      },
      60_000,
    );
    expect(assigned.length).toBeLessThan(6);

    // The first worker leaves while the last 2,000 records are still to be forwarded.
    await first.stop();
    release();

    await sending;
    await waitForLength(redis, suite.keys.history, messages.length, 120_000);
    await waitForAllCommitted(env.admin, suite, 'the group to commit every record');

    const history = await readStream(redis, suite.keys.history);
    expectExactlyOnce(history, messages.length);
    await expectGatewaysMatch(redis, suite.keys, GATEWAYS, messages.length, history);
    expect(await consumed(first)).toBeGreaterThan(0);
    // The first worker's partitions moved to the second when it left.
    expect([...(await partitionsOf(second))].sort()).toEqual(['0', '1', '2', '3', '4', '5']);
  });
});
