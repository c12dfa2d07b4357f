/**
 * PostgreSQL restarted mid-burst (the shared server: its replication connections, the
 * gateways' snapshot pools and the writers all lose their connections). Debezium resumes
 * from its slot, the gateways reconnect; nothing is lost, so the protocol owes no `reset`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '@orders/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { burstAround, untilConnectorRuns } from './burst.ts';
import { expectDelivered } from './checks.ts';
import { createEnvironment, type Environment } from './environment.ts';

const run = promisify(execFile);
let env: Environment;

beforeAll(async () => {
  env = await createEnvironment();
});
afterAll(async () => {
  await env?.close();
});

/** The local cluster on 5432, as `version name` for pg_ctlcluster. */
async function localCluster(): Promise<[string, string]> {
  const { stdout } = await run('pg_lsclusters', ['-h']);
  const line = stdout.split('\n').find((l) => l.split(/\s+/)[2] === '5432');
  const [version, name] = line?.split(/\s+/) ?? [];
  if (version === undefined || name === undefined) throw new Error('no PostgreSQL cluster on port 5432');
  return [version, name];
}

describe('PostgreSQL restarted mid-burst', () => {
  it('every client ends equal to the database, nothing twice, no reset', async () => {
    const [version, name] = await localCluster();
    const { clients } = await burstAround(env, async (traffic) => {
      traffic.pause();
      await traffic.idle();
      await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'restart']);
      await waitFor(
        async () =>
          (await env.pipeline.sql`select 1 as ok`.catch(() => []))[0]?.ok === 1 ? true : undefined,
        { description: 'PostgreSQL to answer again', timeoutMs: 60_000 },
      );
      traffic.resume();
      await untilConnectorRuns(env.pipeline.ns);
    });
    await expectDelivered(clients, env.pipeline.sql, {
      resets: () => 'none',
      gatewayHttpUrls: env.gatewayHttpUrls(),
      note: env.crashes(),
      crashed: env.crashed(),
    });
  });
});
