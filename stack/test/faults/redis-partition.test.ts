/**
 * A gateway cut off from Redis for longer than the worker's gateway TTL while it stays up:
 * the network between them goes silent (no close, no error), the gateway's heartbeats stop
 * reaching Redis, the worker stops feeding its stream and deletes it. The gateway keeps its
 * sockets open the whole time. When the network heals, it must notice the hole and resync
 * its subscriptions from history or reset them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { burstAround, PHASE_WRITES } from './burst.ts';
import { expectDeliveredIn, workerCounter } from './checks.ts';
import { useEnvironment } from './environment.ts';

const GATEWAY_TTL_MS = 3000;
const env = useEnvironment({
  worker: { GATEWAY_TTL_MS: String(GATEWAY_TTL_MS) },
  partitionFirstGateway: true,
});

describe('a gateway cut off from Redis past its TTL, staying up', () => {
  it('its clients converge after the network heals, with no silent gap and no duplicates', async () => {
    const { partition } = env();
    if (partition === undefined) throw new Error('no partition proxy');
    const { clients } = await burstAround(env(), async (traffic) => {
      partition.cut();
      try {
        await Promise.all([traffic.after(PHASE_WRITES), sleep(3 * GATEWAY_TTL_MS)]);
      } finally {
        partition.heal();
      }
    });
    // The fault took effect: the worker gave up on the silent gateway.
    expect(await workerCounter(env(), 'worker_gateways_reaped_total')).toBeGreaterThan(0);
    await expectDeliveredIn(env(), clients, {
      resets: () => 'allowed',
      resetReasons: ['stream_gap'],
    });
  });
});
