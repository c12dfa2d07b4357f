/**
 * A gateway cut off from Redis for longer than the worker's gateway TTL while it stays up:
 * the network between them goes silent (no close, no error), the gateway's heartbeats stop
 * reaching Redis, the worker stops feeding its stream and deletes it. The gateway keeps its
 * sockets open the whole time. When the network heals, it must notice the hole and resync
 * its subscriptions from history or reset them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { burstAround, PHASE_WRITES } from './burst.ts';
import { expectDelivered } from './checks.ts';
import { createEnvironment, type Environment } from './environment.ts';

const GATEWAY_TTL_MS = 3000;
let env: Environment;

beforeAll(async () => {
  env = await createEnvironment({
    worker: { GATEWAY_TTL_MS: String(GATEWAY_TTL_MS) },
    partitionFirstGateway: true,
  });
});
afterAll(async () => {
  await env?.close();
});

describe('a gateway cut off from Redis past its TTL, staying up', () => {
  it('its clients converge after the network heals, with no silent gap and no duplicates', async () => {
    const { partition } = env;
    if (partition === undefined) throw new Error('no partition proxy');
    const { clients } = await burstAround(env, async (traffic) => {
      partition.cut();
      try {
        await Promise.all([traffic.after(PHASE_WRITES), sleep(3 * GATEWAY_TTL_MS)]);
      } finally {
        partition.heal();
      }
    });
    const metrics = await fetch(`http://127.0.0.1:${env.worker.spec.env.WORKER_PORT}/metrics`).then((r) =>
      r.text(),
    );
    // The fault took effect: the worker gave up on the silent gateway.
    expect(
      Number(/^worker_gateways_reaped_total(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1] ?? 0),
    ).toBeGreaterThan(0);
    await expectDelivered(clients, env.pipeline.sql, {
      resets: () => 'allowed',
      resetReasons: ['stream_gap'],
      gatewayHttpUrls: env.gatewayHttpUrls(),
      note: env.crashes(),
      crashed: env.crashed(),
    });
  });
});
