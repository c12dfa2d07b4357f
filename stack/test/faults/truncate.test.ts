/**
 * `TRUNCATE orders` removes every row without a row change for any of them: the only way a
 * client can follow is a `reset` and a fresh snapshot. Writes go on before and after.
 */
import { describe, it } from 'vitest';
import { burstAround } from './burst.ts';
import { expectDeliveredIn } from './checks.ts';
import { useEnvironment } from './environment.ts';

const env = useEnvironment();

describe('TRUNCATE orders', () => {
  it('every client gets a reset and ends equal to the refilled table', async () => {
    const { clients } = await burstAround(env(), async () => {
      await env().pipeline.sql`truncate orders`;
    });
    await expectDeliveredIn(env(), clients, {
      resets: () => 'required',
      resetReasons: ['truncate'],
    });
  });
});
