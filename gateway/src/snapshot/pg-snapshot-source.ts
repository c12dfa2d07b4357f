import type { Order, OrderStatus } from '@orders/drizzle';
import type { Sql } from 'postgres';
import type { Filter } from '../filter/filter.ts';
import type { SnapshotSource } from './snapshot-source.ts';

interface OrderRow {
  id: number | string;
  customer_name: string;
  product_name: string;
  status: OrderStatus;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/**
 * Reads snapshots with the read-only role. Pages are separate statements: a row may be
 * newer than the cursor read before it, which replay and version checks absorb.
 */
export function createPgSnapshotSource(sql: Sql): SnapshotSource {
  return {
    async page(filter: Filter, afterId: number, limit: number, signal?: AbortSignal): Promise<Order[]> {
      const status = filter.status === undefined ? sql`` : sql`and status::text = any(${[...filter.status]})`;
      const customer = filter.customer === undefined ? sql`` : sql`and customer_name = ${filter.customer}`;
      const ids = filter.ids === undefined ? sql`` : sql`and id = any(${[...filter.ids]}::bigint[])`;
      signal?.throwIfAborted();
      const query = sql<OrderRow[]>`
        select id, customer_name, product_name, status, version, created_at, updated_at
        from orders
        where id > ${afterId} ${status} ${customer} ${ids}
        order by id
        limit ${limit}`;
      // postgres.js sends a cancel request for a running query (it fails with 57014) and
      // drops a queued one, so an unsubscribed snapshot stops holding a pool connection.
      const cancel = () => void query.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
      try {
        return (await query).map(toOrder);
      } finally {
        signal?.removeEventListener('abort', cancel);
      }
    },
  };
}

function toOrder(row: OrderRow): Order {
  return {
    id: Number(row.id),
    customerName: row.customer_name,
    productName: row.product_name,
    status: row.status,
    version: Number(row.version),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
