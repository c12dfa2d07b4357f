/**
 * Transactions far larger than a Kafka batch, mid-burst: a 100,000-row `COPY` with Kafka
 * Connect killed (`kill -9`) while Debezium is still sending its rows, then one `UPDATE` of all
 * those rows in a single transaction. Debezium re-sends part of the COPY after the restart
 * (rows sharing change LSNs, a multi-insert WAL record per page); nothing is lost or delivered
 * twice, so the protocol owes no `reset` (but for a client so far behind that resuming would
 * replay more than the gateway's bound).
 *
 * One case, not two: a client subscribing afresh to a table this large would be refused its
 * snapshot (`too_large`), so the same clients follow both transactions from a small start.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { waitFor } from '@orders/test-harness';
import { describe, expect, inject, it } from 'vitest';
import { burstAround, untilConnectorRuns } from './burst.ts';
import { expectDeliveredIn } from './checks.ts';
import { useEnvironment } from './environment.ts';
import { javaPid, killHard, stack } from './private-stack.ts';
import { customers } from './traffic.ts';

const ROWS = 100_000;
const home = inject('stackHome');
const env = useEnvironment();

describe('transactions of 100,000 rows, mid-burst', () => {
  it('a COPY with Connect killed during its changes, then one UPDATE of every copied row: nothing lost or twice, resets only past the replay bounds', async () => {
    const { sql } = env().pipeline;
    const { clients } = await burstAround(env(), async (traffic, connected) => {
      traffic.pause();
      function* lines() {
        for (let i = 0; i < ROWS; i++) yield `${customers[i % customers.length]}\tbulk\tpending\n`;
      }
      const writable = await sql`copy orders (customer_name, product_name, status) from stdin`.writable();
      await pipeline(Readable.from(lines()), writable);
      traffic.resume();

      // Connect dies while Debezium is still sending the COPY's rows.
      const [all] = connected;
      if (all === undefined) throw new Error('expected clients');
      await waitFor(
        async () => ([...all.view.values()].some((row) => row.productName === 'bulk') ? true : undefined),
        { description: 'the first copied row to reach a client', timeoutMs: 120_000, intervalMs: 20 },
      );
      const copied = () => [...all.view.values()].filter((row) => row.productName === 'bulk').length;
      await killHard(await javaPid(home, 'connect'));
      const seenAtKill = copied();
      expect(seenAtKill, 'Connect killed before Debezium had sent the whole COPY').toBeLessThan(ROWS);
      traffic.pause();
      const out = await stack(home, 'up');
      expect(out).toContain('starting connect');
      await untilConnectorRuns(env().pipeline.ns);
      traffic.resume();
      await waitFor(async () => (copied() === ROWS ? true : undefined), {
        description: `all ${ROWS} copied rows to reach the unfiltered client (${seenAtKill} when Connect died)`,
        timeoutMs: 300_000,
        intervalMs: 500,
      });

      // One transaction that changes every copied row.
      const updated = await sql`update orders set status = 'paid' where product_name = 'bulk'`;
      expect(updated.count).toBe(ROWS);
    });
    await expectDeliveredIn(env(), clients, {
      // 200,000 changes outrun the bounds a gateway keeps per subscription: a client so slow
      // that its socket was closed resumes more than REPLAY_MAX_ENTRIES behind
      // (`cursor_expired`), and a gateway whose own stream was trimmed further than that under
      // it refills no hole that large (`stream_gap`). Either starts over; nothing is lost.
      resets: () => 'allowed',
      resetReasons: ['cursor_expired', 'stream_gap'],
      timeoutMs: 300_000,
    });
  }, 900_000);
});
