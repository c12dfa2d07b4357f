/**
 * Ordinary operations on a running system, mid-burst: restarting the connector through Kafka
 * Connect's REST API (Debezium resumes from its stored offset and may send changes again),
 * and a moment of `REPLICA IDENTITY DEFAULT` (deletes and updates without the old row, so
 * the gateways cannot tell from the change alone whose view held the order).
 */
import { describe, expect, it } from 'vitest';
import { burstAround, untilConnectorRuns } from './burst.ts';
import { expectDeliveredIn } from './checks.ts';
import { useEnvironment } from './environment.ts';
import { CONNECT_URL } from './private-stack.ts';

const env = useEnvironment();

describe('operations on the running pipeline, mid-burst', () => {
  it('the connector restarted through the Connect REST API: no duplicates, no reset', async () => {
    const { clients } = await burstAround(env(), async (traffic) => {
      const name = `test-${env().pipeline.ns}`;
      const response = await fetch(`${CONNECT_URL}/connectors/${name}/restart?includeTasks=true`, {
        method: 'POST',
      });
      expect([200, 202, 204]).toContain(response.status);
      await traffic.after(100);
      await untilConnectorRuns(env().pipeline.ns);
    });
    await expectDeliveredIn(env(), clients, {
      resets: () => 'none',
    });
  });

  it('REPLICA IDENTITY DEFAULT for a moment, with deletes and updates: every view, customer ones included, ends right', async () => {
    const { sql } = env().pipeline;
    const { clients } = await burstAround(env(), async (traffic) => {
      await sql`alter table orders replica identity default`;
      try {
        const picked = await sql<{ id: number }[]>`select id from orders order by random() limit 6`;
        const ids = picked.map((row) => row.id);
        expect(ids).toHaveLength(6);
        await sql`delete from orders where id in ${sql(ids.slice(0, 3))}`;
        await sql`update orders set status = 'cancelled' where id in ${sql(ids.slice(3))}`;
        await sql`update orders set customer_name = 'Alice' where id = ${ids[5] ?? 0}`;
        await traffic.after(50);
      } finally {
        await sql`alter table orders replica identity full`;
      }
    });
    await expectDeliveredIn(env(), clients, {
      // A subscription that cannot place a delete without its old row starts over.
      resets: () => 'allowed',
      resetReasons: ['undeliverable'],
    });
  });
});
