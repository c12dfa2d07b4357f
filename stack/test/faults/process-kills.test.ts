/**
 * `kill -9` of Kafka Connect, the Kafka broker and the worker in the middle of a burst of
 * writes, then a restart. Nothing is lost in any of them, so the protocol owes no `reset`:
 * every client must end equal to the database with no change delivered twice.
 */
import { describe, expect, inject, it } from 'vitest';
import { burstAround, PHASE_WRITES, untilConnectorRuns } from './burst.ts';
import { expectDeliveredIn } from './checks.ts';
import { useEnvironment } from './environment.ts';
import { javaPid, killHard, stack } from './private-stack.ts';

const home = inject('stackHome');
const env = useEnvironment();

describe('a component killed with SIGKILL mid-burst, then restarted', () => {
  it('Kafka Connect: no duplicates, no reset, every view equals the database', async () => {
    const { clients } = await burstAround(env(), async (traffic) => {
      const kafka = await javaPid(home, 'kafka');
      await killHard(await javaPid(home, 'connect'));
      await traffic.after(PHASE_WRITES);
      traffic.pause();
      const out = await stack(home, 'up');
      // stack/up restarts only what is down.
      expect(out).toMatch(/kafka already running|Kafka.*already answers/);
      expect(out).toContain('starting connect');
      expect(await javaPid(home, 'kafka')).toBe(kafka);
      await untilConnectorRuns(env().pipeline.ns);
    });
    await expectDeliveredIn(env(), clients, {
      resets: () => 'none',
    });
  });

  it('the Kafka broker: no duplicates, no reset, every view equals the database', async () => {
    const { clients } = await burstAround(env(), async (traffic) => {
      const connect = await javaPid(home, 'connect');
      await killHard(await javaPid(home, 'kafka'));
      await traffic.after(PHASE_WRITES);
      traffic.pause();
      const out = await stack(home, 'up');
      expect(out).toContain('starting kafka');
      expect(out).toMatch(/connect already running|Connect.*already answers/);
      expect(await javaPid(home, 'connect')).toBe(connect);
      await untilConnectorRuns(env().pipeline.ns);
    });
    await expectDeliveredIn(env(), clients, {
      resets: () => 'none',
    });
  });

  it('the worker: no duplicates, no reset, every view equals the database', async () => {
    const { clients } = await burstAround(env(), async (traffic) => {
      await env().worker.kill('SIGKILL');
      await traffic.after(PHASE_WRITES);
      traffic.pause();
      await env().worker.start();
    });
    await expectDeliveredIn(env(), clients, {
      resets: () => 'none',
    });
  });
});
