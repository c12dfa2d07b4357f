/**
 * PostgreSQL restarted mid-burst (the shared server: its replication connections, the
 * gateways' snapshot pools and the writers all lose their connections). Debezium resumes
 * from its slot, the gateways reconnect; nothing is lost, so the protocol owes no `reset`.
 *
 * It restarts the local PostgreSQL server, which may be the user's own: only with
 * `STACK_ALLOW_PG_RESTART=1`, as for the stack scripts (`.ci/run` sets it). Without it the case
 * is skipped and says so.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '@orders/test-harness';
import { describe, it } from 'vitest';
import { burstAround, untilConnectorRuns } from './burst.ts';
import { expectDeliveredIn } from './checks.ts';
import { useEnvironment } from './environment.ts';

const run = promisify(execFile);
const env = useEnvironment();

/** The local cluster on 5432, as `version name` for pg_ctlcluster. */
async function localCluster(): Promise<[string, string]> {
  const { stdout } = await run('pg_lsclusters', ['-h']);
  const line = stdout.split('\n').find((l) => l.split(/\s+/)[2] === '5432');
  const [version, name] = line?.split(/\s+/) ?? [];
  if (version === undefined || name === undefined) throw new Error('no PostgreSQL cluster on port 5432');
  return [version, name];
}

const allowed = process.env.STACK_ALLOW_PG_RESTART === '1';
if (!allowed)
  console.warn(
    'postgres-restart: skipped; STACK_ALLOW_PG_RESTART=1 lets the suite restart the local PostgreSQL',
  );

describe('PostgreSQL restarted mid-burst', () => {
  it.runIf(allowed)('every client ends equal to the database, nothing twice, no reset', async () => {
    const [version, name] = await localCluster();
    const { clients } = await burstAround(env(), async (traffic) => {
      traffic.pause();
      await traffic.idle();
      await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'restart']);
      await waitFor(
        async () =>
          (await env().pipeline.sql`select 1 as ok`.catch(() => []))[0]?.ok === 1 ? true : undefined,
        { description: 'PostgreSQL to answer again', timeoutMs: 60_000 },
      );
      traffic.resume();
      await untilConnectorRuns(env().pipeline.ns);
    });
    await expectDeliveredIn(env(), clients, {
      resets: () => 'none',
    });
  });
});
