/**
 * Subscribers that arrive together share snapshot reads (one PostgreSQL read per page per
 * gateway), and each still gets a seam with history exact for its own position: on the real
 * stack, under continuous writes, every one of them converges with nothing twice and no gap.
 */

import type { SubscriptionFilter } from '@orders/client';
import type { GatewayProcess } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientPool, converge, expectClean } from './support/convergence.ts';
import { createStack, type Stack } from './support/pipeline.ts';
import { recordSubscription } from './support/recorder.ts';
import { staffToken } from './support/tokens.ts';
import { startTraffic } from './support/traffic.ts';

/** Several snapshot pages (500 rows each) for the unfiltered view. */
const ROWS = 2_000;

async function counter(gateway: GatewayProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gateway.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${name} missing from the gateway's metrics`);
  return Number(line.split(' ')[1]);
}

describe('many subscribers, one snapshot', () => {
  let stack: Stack;
  let gateway: GatewayProcess;
  const clients = clientPool({ token: staffToken, minBackoffMs: 100, maxBackoffMs: 1000 });
  const filters: SubscriptionFilter[] = [{}, { status: ['pending', 'paid'] }, { customer: 'Alice' }];

  beforeAll(async () => {
    stack = await createStack();
    gateway = await stack.startGateway('shared-a');
    await stack.pipeline.sql`
      insert into orders (customer_name, product_name, status)
      select (array['Alice', 'Bob', 'Carol'])[1 + i % 3], 'widget', 'pending'
      from generate_series(1, ${ROWS}) as i`;
  });
  afterAll(async () => {
    clients.closeAll();
    await stack?.close();
  });

  it('subscribers arriving in waves under writes share page reads, and each converges exactly', async () => {
    const readsBefore = await counter(gateway, 'gateway_snapshot_page_reads_total');
    const sharedBefore = await counter(gateway, 'gateway_snapshot_pages_shared_total');
    const traffic = startTraffic(stack.writer, { concurrency: 2, pauseMs: 5 });
    const joined = [];
    for (let wave = 0; wave < 3; wave++) {
      await traffic.more(10);
      for (let i = 0; i < 6; i++) {
        const c = clients.open([gateway.url]);
        joined.push({ c, recs: filters.map((f) => recordSubscription(c.subscribe(f))) });
      }
    }
    await Promise.all(joined.map(({ c }) => c.ready()));
    await traffic.more(40);
    expect(await traffic.stop()).toBeGreaterThan(60);
    for (const { c, recs } of joined) {
      await converge(c, filters, (match) => stack.writer.rows(match), 60_000);
      expectClean(recs, { snapshots: 1 });
    }
    const reads = (await counter(gateway, 'gateway_snapshot_page_reads_total')) - readsBefore;
    const shared = (await counter(gateway, 'gateway_snapshot_pages_shared_total')) - sharedBefore;
    // 18 subscribers of each filter; the unfiltered one alone is 5 pages each, 90 pages in all.
    expect(shared).toBeGreaterThan(0);
    expect(reads + shared).toBeGreaterThanOrEqual(18 * 3);
  });
});
