/** `kill -9` of a worker process in the middle of a burst, then a restart. */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from './support/child.ts';
import { burst, gate, trickle } from './support/debezium.ts';
import {
  expectExactlyOnce,
  expectGatewaysMatch,
  readStream,
  waitForAllCommitted,
  waitForLength,
} from './support/streams.ts';
import { createWorkerSuite } from './support/suite.ts';

const GATEWAYS = ['gw-1', 'gw-2'];

describe('worker killed with SIGKILL mid-burst', () => {
  const env = createWorkerSuite('crash', { partitions: 6, gateways: GATEWAYS });
  const { suite } = env;
  const logFile = join(tmpdir(), `${suite.ns}.log`);
  const workers: WorkerProcess[] = [];
  env.cleanup(async () => {
    for (const worker of workers) await worker.kill('SIGKILL');
  });

  it('restarts into exactly-once delivery with nothing missing', async () => {
    const { redis, admin, producer } = env;
    const messages = burst(100, 55); // 100 inserts + 5,500 updates
    // The killed worker never commits on its own clock, so everything it forwarded before the
    // kill comes back to the next one, which must recognise all of it as already in Redis.
    const first = spawnWorker(suite, logFile, { KAFKA_COMMIT_INTERVAL_MS: '600000' });
    workers.push(first);

    const { released, release } = gate();
    // The last 1,500 records are held back until the worker is dead: a kill mid-burst, always.
    const sending = trickle(producer, suite.topic, messages, {
      holdFrom: messages.length - 1_500,
      release: released,
    });
    await waitForLength(redis, suite.keys.history, 1_500, 90_000);
    await first.kill('SIGKILL');
    const atKill = await redis.xLen(suite.keys.history);
    const [atKillCommitted] = await admin.fetchOffsets({ groupId: suite.group, topics: [suite.topic] });
    const committedAtKill = (atKillCommitted?.partitions ?? []).reduce(
      (sum, p) => sum + Math.max(0, Number(p.offset)),
      0,
    );
    // The crash left forwarded records uncommitted: the restart has to deduplicate them.
    expect(committedAtKill, 'records committed before the kill').toBeLessThan(atKill);
    release();

    await sending;
    const second = spawnWorker(suite, logFile);
    workers.push(second);
    // The killed member's partitions move only after its session times out (6 s here).
    await waitForLength(redis, suite.keys.history, messages.length, 120_000);
    await waitForAllCommitted(admin, suite, 'the restarted worker to commit every record');

    const history = await readStream(redis, suite.keys.history);
    // Exactly the forwarded-but-uncommitted records came back, and the mark skipped each one.
    expect(await skippedInLog(logFile), `skipped redeliveries (logs: ${logFile})`).toBe(
      atKill - committedAtKill,
    );
    expectExactlyOnce(history, messages.length);
    await expectGatewaysMatch(redis, suite.keys, GATEWAYS, messages.length, history);
    await second.kill('SIGTERM');
    expect(await second.exited, `graceful exit (logs: ${logFile})`).toBe(0);
    // A graceful stop commits everything it forwarded before leaving the group.
    const ends = await admin.fetchTopicOffsets(suite.topic);
    const [committed] = await admin.fetchOffsets({ groupId: suite.group, topics: [suite.topic] });
    const byPartition = new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
    for (const end of ends)
      expect(byPartition.get(end.partition), `partition ${end.partition}`).toBe(end.offset);
  });
});

/** Sums the records the workers logged as redelivered and skipped by the high-water mark. */
async function skippedInLog(file: string): Promise<number> {
  let skipped = 0;
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line.includes('skipped redelivered records')) continue;
    const entry = JSON.parse(line) as { skipped?: unknown };
    if (typeof entry.skipped === 'number') skipped += entry.skipped;
  }
  return skipped;
}
