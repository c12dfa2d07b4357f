/**
 * Redis restarted without persistence: every stream, mark and epoch is gone. History can no
 * longer cover what a cursor missed, so the protocol owes an explicit `reset` wherever a gap
 * would otherwise open: a client returning with an old cursor must get one; clients that stay
 * connected must end equal to the database (by reset or resync), never with a silent gap.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { redisKeys } from '@orders/contract/redis';
import { waitFor } from '@orders/test-harness';
import { describe, it } from 'vitest';
import { PHASE_WRITES, untilSubscribed } from './burst.ts';
import { expectDeliveredIn } from './checks.ts';
import { useEnvironment } from './environment.ts';
import type { ProtocolClient } from './protocol-client.ts';
import { insertUntouched, startTraffic } from './traffic.ts';

const run = promisify(execFile);
const env = useEnvironment();

async function untilSeen(client: ProtocolClient, ids: number[]): Promise<void> {
  await waitFor(async () => (ids.every((id) => client.view.has(id)) ? true : undefined), {
    description: `${client.name} to see ${ids.length} new orders`,
    timeoutMs: 120_000,
  });
}

/** Waits until the worker has appended the change of order `id` to history. */
async function untilInHistory(id: number): Promise<void> {
  const { history } = redisKeys(env().pipeline.ns);
  await waitFor(
    async () => {
      const { stdout } = await run('redis-cli', [
        '-p',
        String(env().redisPort),
        '--raw',
        'XREVRANGE',
        history,
        '+',
        '-',
        'COUNT',
        '200',
      ]);
      return stdout.includes(`"id":${id},`) ? true : undefined;
    },
    { description: `order ${id} in history`, timeoutMs: 60_000 },
  );
}

async function loseRedis(): Promise<void> {
  await env().redis.kill('SIGKILL');
  await env().redis.start();
}

describe('Redis loses its data', () => {
  it('a client away during the loss gets reset when it returns, and converges', async () => {
    const clients = await env().connectClients();
    const [away, ...stayed] = clients;
    if (!away || !stayed[1]) throw new Error('expected three clients');
    await untilSubscribed(clients);
    const traffic = startTraffic(env().pipeline.sql, { concurrency: 3, pauseMs: 5 });
    try {
      await traffic.after(PHASE_WRITES);
      await away.disconnect();
      await traffic.after(PHASE_WRITES);
      // Orders nothing touches again: once Redis forgets their inserts, only a snapshot
      // (after a reset) can bring them to the returning client.
      const untouched = await insertUntouched(env().pipeline.sql, 25);
      await untilSeen(stayed[1], untouched);
      await loseRedis();
      await traffic.after(PHASE_WRITES);
      await away.connect();
      await traffic.after(PHASE_WRITES);
    } finally {
      await traffic.stop();
    }
    await expectDeliveredIn(env(), clients, {
      resets: (c) => (c === away ? 'required' : 'allowed'),
      resetReasons: ['epoch_changed'],
    });
  });

  it('clients connected through the loss end equal to the database, without duplicates', async () => {
    const clients = await env().connectClients();
    await untilSubscribed(clients);
    const traffic = startTraffic(env().pipeline.sql, { concurrency: 3, pauseMs: 5 });
    try {
      await traffic.after(PHASE_WRITES);
      // The gateways fall behind (frozen well under the gateway TTL) so that Redis dies holding
      // changes they have not read: forwarded, committed in Kafka, and then gone.
      for (const gateway of env().gateways) gateway.signal('SIGSTOP');
      // Held for a moment, so the newest history entries are the ones looked for.
      traffic.pause();
      try {
        const untouched = await insertUntouched(env().pipeline.sql, 25);
        await untilInHistory(untouched.at(-1) ?? 0);
        await loseRedis();
      } finally {
        for (const gateway of env().gateways) gateway.signal('SIGCONT');
        traffic.resume();
      }
      await traffic.after(PHASE_WRITES);
    } finally {
      await traffic.stop();
    }
    await expectDeliveredIn(env(), clients, {
      resets: () => 'allowed',
      resetReasons: ['epoch_changed'],
    });
  });
});
