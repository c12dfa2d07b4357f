/** Clients under test and the check that each of their subscriptions caught up with the database. */

import { OrdersClient, type OrdersClientOptions, type SubscriptionFilter } from '@orders/client';
import type { Order } from '@orders/drizzle';
import { CheckedWebSocket } from '@orders/test-harness';
import { expect } from 'vitest';
import { diffRows, type recordSubscription } from './recorder.ts';
import { until } from './wait.ts';

/** The database-side reading of a subscription filter. */
export const matcher = (filter: SubscriptionFilter) => (o: Order) =>
  (filter.status === undefined || filter.status.includes(o.status)) &&
  (filter.customer === undefined || filter.customer === o.customerName) &&
  (filter.ids === undefined || filter.ids.includes(o.id));

export type RowSource = (filter: (o: Order) => boolean) => Promise<Map<number, Order>>;

/**
 * Waits until the client's subscriptions (in the order of `filters`) hold exactly the rows
 * `rows` reads for their filter; on timeout the error says what still differs.
 */
export async function converge(
  c: OrdersClient,
  filters: SubscriptionFilter[],
  rows: RowSource,
  timeoutMs: number,
): Promise<void> {
  for (const [i, filter] of filters.entries()) {
    const sub = [...c.subscriptions.values()][i];
    if (sub === undefined) throw new Error('no subscription');
    let diff: string | undefined;
    await until(
      async () => {
        diff = diffRows(sub.rows, await rows(matcher(filter)));
        return diff === undefined;
      },
      `convergence of ${JSON.stringify(filter)}`,
      timeoutMs,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${diff}`);
    });
  }
}

/** Opens clients over checked sockets with shared options and closes all of them at the end of a suite. */
export function clientPool(options: Omit<OrdersClientOptions, 'urls' | 'WebSocket'>) {
  const clients: OrdersClient[] = [];
  return {
    /** `token` replaces the pool's token option for this client. */
    open(urls: string[], token?: OrdersClientOptions['token']): OrdersClient {
      const c = new OrdersClient({
        urls,
        WebSocket: CheckedWebSocket,
        ...options,
        ...(token === undefined ? {} : { token }),
      });
      clients.push(c);
      return c;
    },
    closeAll(): void {
      for (const c of clients.splice(0)) c.close();
    },
  };
}

export type Recording = ReturnType<typeof recordSubscription>;

/** No recording saw a version go backwards or repeat; each saw `snapshots` (and `recovered`) as given. */
export function expectClean(recs: Recording[], counts: { snapshots: number; recovered?: number }): void {
  for (const rec of recs) {
    expect(rec.violations).toEqual([]);
    expect(rec.snapshots).toBe(counts.snapshots);
    if (counts.recovered !== undefined) expect(rec.recovered).toBe(counts.recovered);
  }
}
