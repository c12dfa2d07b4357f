/**
 * Redis restarted without persistence: every stream, mark and epoch is gone. History can no
 * longer cover what a cursor missed, so the protocol owes an explicit `reset` wherever a gap
 * would otherwise open: a client returning with an old cursor must get one; clients that stay
 * connected must end equal to the database (by reset or resync), never with a silent gap.
 */
import { waitFor } from '@orders/drizzle/testing';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { PHASE_WRITES, untilSubscribed } from './burst.ts';
import { expectDelivered } from './checks.ts';
import { createEnvironment, type Environment } from './environment.ts';
import type { ProtocolClient } from './protocol-client.ts';
import { insertUntouched, startTraffic } from './traffic.ts';

let env: Environment;

beforeAll(async () => {
  env = await createEnvironment();
});
afterEach(async () => {
  await env?.closeClients();
});
afterAll(async () => {
  await env?.close();
});

async function untilSeen(client: ProtocolClient, ids: number[]): Promise<void> {
  await waitFor(async () => (ids.every((id) => client.view.has(id)) ? true : undefined), {
    description: `${client.name} to see ${ids.length} new orders`,
    timeoutMs: 120_000,
  });
}

async function loseRedis(): Promise<void> {
  await env.redis.kill('SIGKILL');
  await env.redis.start();
}

describe('Redis loses its data', () => {
  it('a client away during the loss gets reset when it returns, and converges', async () => {
    const clients = await env.connectClients();
    const [away, ...stayed] = clients;
    if (!away || !stayed[1]) throw new Error('expected three clients');
    await untilSubscribed(clients);
    const traffic = startTraffic(env.pipeline.sql, { concurrency: 3, pauseMs: 5 });
    try {
      await traffic.after(PHASE_WRITES);
      await away.disconnect();
      await traffic.after(PHASE_WRITES);
      // Orders nothing touches again: once Redis forgets their inserts, only a snapshot
      // (after a reset) can bring them to the returning client.
      const untouched = await insertUntouched(env.pipeline.sql, 25);
      await untilSeen(stayed[1], untouched);
      await loseRedis();
      await traffic.after(PHASE_WRITES);
      await away.connect();
      await traffic.after(PHASE_WRITES);
    } finally {
      await traffic.stop();
    }
    await expectDelivered(clients, env.pipeline.sql, {
      resets: (c) => (c === away ? 'required' : 'allowed'),
      gatewayHttpUrls: env.gatewayHttpUrls(),
    });
  });

  it('clients connected through the loss end equal to the database, without duplicates', async () => {
    const clients = await env.connectClients();
    await untilSubscribed(clients);
    const traffic = startTraffic(env.pipeline.sql, { concurrency: 3, pauseMs: 5 });
    try {
      await traffic.after(PHASE_WRITES);
      await loseRedis();
      await traffic.after(PHASE_WRITES);
    } finally {
      await traffic.stop();
    }
    await expectDelivered(clients, env.pipeline.sql, {
      resets: () => 'allowed',
      gatewayHttpUrls: env.gatewayHttpUrls(),
    });
  });
});
