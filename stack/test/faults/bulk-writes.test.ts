/**
 * Writes whose changes share a PostgreSQL source position, in the middle of a burst of
 * ordinary writes: a COPY (one multi-insert WAL record per heap page, all its rows at one
 * change LSN) and primary-key updates (a delete and a create at one position). Nothing is
 * lost and nothing is a fault, so the protocol owes no `reset`.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from '@orders/drizzle';
import { describe, expect, it } from 'vitest';
import { burstAround } from './burst.ts';
import { expectDeliveredIn } from './checks.ts';
import { useEnvironment } from './environment.ts';
import { customers } from './traffic.ts';

const env = useEnvironment();

/** `COPY orders … FROM STDIN` of `count` rows spread over every customer; returns the rows copied. */
async function copyOrders(sql: Sql, count: number, product: string): Promise<number> {
  const statuses = ['pending', 'paid', 'shipped'] as const;
  function* lines() {
    for (let i = 0; i < count; i++)
      yield `${customers[i % customers.length]}\t${product}\t${statuses[i % statuses.length]}\n`;
  }
  const writable = await sql`copy orders (customer_name, product_name, status) from stdin`.writable();
  await pipeline(Readable.from(lines()), writable);
  const [row] = await sql<
    { n: number }[]
  >`select count(*)::int as n from orders where product_name = ${product}`;
  return row?.n ?? 0;
}

describe('changes that share a source position, mid-burst', () => {
  it('a 20,000-row COPY: every row reaches every client once, no reset', async () => {
    const { clients } = await burstAround(env(), async () => {
      expect(await copyOrders(env().pipeline.sql, 20_000, 'copied')).toBe(20_000);
    });
    await expectDeliveredIn(env(), clients, {
      resets: () => 'none',
    });
  });

  it('primary-key updates: the old id is removed and the new one arrives, everywhere, no reset', async () => {
    const { sql } = env().pipeline;
    let moved = 0;
    const { clients } = await burstAround(env(), async () => {
      for (let round = 0; round < 10; round++) {
        const result = await sql`
          update orders set id = id + 1000000
          where id in (select id from orders where id < 1000000 order by random() limit 5)`;
        moved += result.count;
      }
    });
    expect(moved).toBe(50);
    await expectDeliveredIn(env(), clients, {
      resets: () => 'none',
    });
  });
});
