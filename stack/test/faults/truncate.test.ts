/**
 * `TRUNCATE orders` removes every row without a row change for any of them: the only way a
 * client can follow is a `reset` and a fresh snapshot. Writes go on before and after.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { burstAround } from './burst.ts';
import { expectDelivered } from './checks.ts';
import { createEnvironment, type Environment } from './environment.ts';

let env: Environment;

beforeAll(async () => {
  env = await createEnvironment();
});
afterAll(async () => {
  await env?.close();
});

describe('TRUNCATE orders', () => {
  it('every client gets a reset and ends equal to the refilled table', async () => {
    const { clients } = await burstAround(env, async () => {
      await env.pipeline.sql`truncate orders`;
    });
    await expectDelivered(clients, env.pipeline.sql, {
      resets: () => 'required',
      resetReasons: ['truncate'],
      gatewayHttpUrls: env.gatewayHttpUrls(),
      note: env.crashes(),
      crashed: env.crashed(),
    });
  });
});
