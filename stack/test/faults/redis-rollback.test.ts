/**
 * Redis going back in time while its keys survive: restarted from a snapshot taken seconds
 * before a `kill -9` (what a failover to a replica that lagged does), and killed under
 * `appendfsync everysec` (which may lose up to a second of acknowledged writes). The epoch,
 * marks and history are all there, only older, and the worker has committed the Kafka offsets
 * of what was lost. No client may resume into that history: each gets a `reset` (the worker
 * replaces the epoch) and ends equal to the database.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '@orders/test-harness';
import { describe, expect, it } from 'vitest';
import { burstAround, PHASE_WRITES, untilSubscribed } from './burst.ts';
import { expectDeliveredIn } from './checks.ts';
import { useEnvironment } from './environment.ts';
import { startTraffic } from './traffic.ts';

const run = promisify(execFile);
const env = useEnvironment();

async function redisCli(...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(env().redisPort), ...args]);
  return stdout.trim();
}

/** Writes an RDB of the present state; the next start of redis-server loads it. */
async function snapshotNow(): Promise<void> {
  expect(await redisCli('SAVE')).toBe('OK');
}

/** `kill -9`, then a start that loads whatever is on disk; the RDB is then removed. */
async function crashAndRestart(): Promise<void> {
  await env().redis.kill('SIGKILL');
  await env().redis.start();
  rmSync(join(env().logDir, 'dump.rdb'), { force: true });
}

const epoch = () => redisCli('GET', `{${env().pipeline.ns}}:epoch`);

/*
 * The worker replaces the epoch, so a cursor of the old one gets `epoch_changed`. Before the
 * worker noticed, a position from the lost window is newer than anything the restored history
 * holds, `cursor_unknown`: a client's that resubscribes, or a live subscription's own when its
 * gateway's stream broke and it is refilled from history.
 */
describe('Redis going back in time [P26]', () => {
  it('restarted from a snapshot of seconds before, clients connected: every client resets and converges', async () => {
    let before = '';
    const { clients } = await burstAround(env(), async (traffic) => {
      before = await epoch();
      await snapshotNow();
      // Seconds of writes that Redis acknowledges and then forgets.
      await traffic.after(PHASE_WRITES / 2);
      await crashAndRestart();
      await traffic.after(PHASE_WRITES / 2);
    });
    expect(await epoch()).not.toBe(before);
    await expectDeliveredIn(env(), clients, {
      resets: () => 'required',
      resetReasons: ['epoch_changed', 'cursor_unknown'],
    });
  });

  it('a client away across the lost window returns with a cursor from before it: reset, then converges', async () => {
    const clients = await env().connectClients();
    const [away] = clients;
    if (away === undefined) throw new Error('expected clients');
    await untilSubscribed(clients);
    const traffic = startTraffic(env().pipeline.sql, { concurrency: 3, pauseMs: 5 });
    try {
      await traffic.after(PHASE_WRITES);
      await away.disconnect();
      await snapshotNow();
      await traffic.after(PHASE_WRITES / 2);
      await crashAndRestart();
      await traffic.after(PHASE_WRITES / 2);
      await away.connect();
      await traffic.after(PHASE_WRITES);
    } finally {
      await traffic.stop();
    }
    await expectDeliveredIn(env(), clients, {
      resets: () => 'required',
      resetReasons: ['epoch_changed', 'cursor_unknown'],
    });
  });

  it('kill -9 under appendfsync everysec: whatever the last second lost, every client converges', async () => {
    // From now on this redis-server keeps an append-only file and loads it on start.
    env().redis.spec.args.push('--appendonly', 'yes', '--appendfsync', 'everysec');
    expect(await redisCli('CONFIG', 'SET', 'appendfsync', 'everysec')).toBe('OK');
    expect(await redisCli('CONFIG', 'SET', 'appendonly', 'yes')).toBe('OK');
    await waitFor(
      async () => {
        const info = await redisCli('INFO', 'persistence');
        return /aof_enabled:1/.test(info) && /aof_rewrite_in_progress:0/.test(info) ? true : undefined;
      },
      { description: 'the append-only file to be written', timeoutMs: 60_000 },
    );
    const { clients } = await burstAround(env(), async (traffic) => {
      await crashAndRestart();
      await traffic.after(PHASE_WRITES / 2);
    });
    await expectDeliveredIn(env(), clients, {
      resets: () => 'allowed',
      resetReasons: ['epoch_changed', 'cursor_unknown'],
    });
  });
});
