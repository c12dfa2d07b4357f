/**
 * A gateway frozen (SIGSTOP) for longer than the worker's gateway TTL: the worker stops
 * feeding its stream and deletes it, while writes go on. After SIGCONT the gateway must
 * notice the hole and resync its subscriptions from history or reset them. A small stream
 * cap adds trimming under a gateway that falls behind.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { burstAround, PHASE_WRITES } from './burst.ts';
import { expectDeliveredIn, workerCounter } from './checks.ts';
import { useEnvironment } from './environment.ts';

const GATEWAY_TTL_MS = 3000;
const env = useEnvironment({
  worker: { GATEWAY_TTL_MS: String(GATEWAY_TTL_MS), GATEWAY_MAXLEN: '200' },
});

describe('a gateway frozen past its TTL', () => {
  it('its clients converge after SIGCONT, with no silent gap and no duplicates', async () => {
    const [frozen] = env().gateways;
    if (!frozen) throw new Error('no gateway');
    const { clients } = await burstAround(env(), async (traffic) => {
      frozen.signal('SIGSTOP');
      try {
        // Long enough to be reaped, with writes flowing the whole time.
        await Promise.all([traffic.after(PHASE_WRITES), sleep(3 * GATEWAY_TTL_MS)]);
      } finally {
        frozen.signal('SIGCONT');
      }
    });
    // The fault took effect: the worker gave up on the frozen gateway.
    expect(await workerCounter(env(), 'worker_gateways_reaped_total')).toBeGreaterThan(0);
    await expectDeliveredIn(env(), clients, {
      resets: () => 'allowed',
      resetReasons: ['stream_gap'],
    });
  });
});
