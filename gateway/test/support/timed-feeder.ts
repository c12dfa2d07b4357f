import type { RedisKeys, StreamChange } from '@orders/contract/redis';
import type { Order, Sql } from '@orders/drizzle';
import { createStandInForwarder } from '@orders/worker/testing';
import type { RedisClient } from '../../src/stream/redis-client.ts';
import { type OrderRecord, readOrders, toOrder } from './order-record.ts';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable within one process. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/**
 * Writes to PostgreSQL and forwards through the worker's Lua fan-out like the fake worker,
 * but stamps `committedAt` with sub-millisecond time so latency percentiles of a few
 * milliseconds are not quantized away.
 */
export function createTimedFeeder(redis: RedisClient, keys: RedisKeys, sql: Sql) {
  const forwarder = createStandInForwarder(redis, keys, 'timed', 200_000);
  let offset = 0;
  const forward = async (op: StreamChange['op'], row: Order, before: Order | null) => {
    offset++;
    const now = preciseNow();
    const change: StreamChange = {
      op,
      row,
      before,
      committedAt: now,
      lsn: String(offset),
      kafka: { topic: 'timed', partition: 0, offset: String(offset), timestamp: Math.floor(now) },
    };
    await forwarder.forward('timed', 0, String(offset), [change]);
  };
  return {
    async insert(customer: string, product: string): Promise<Order> {
      const [r] = await sql<OrderRecord[]>`
        insert into orders (customer_name, product_name, status) values (${customer}, ${product}, 'pending')
        returning *`;
      if (r === undefined) throw new Error('insert returned nothing');
      const row = toOrder(r);
      await forward('insert', row, null);
      return row;
    },
    /** Callers must not update one order concurrently (Debezium's per-order commit order). */
    async update(id: number, status: Order['status']): Promise<void> {
      const [before, after] = await sql.begin(async (tx) => {
        const [old] = await tx<OrderRecord[]>`select * from orders where id = ${id} for update`;
        const [r] = await tx<
          OrderRecord[]
        >`update orders set status = ${status} where id = ${id} returning *`;
        if (old === undefined || r === undefined) throw new Error(`order ${id} missing`);
        return [toOrder(old), toOrder(r)] as const;
      });
      await forward('update', after, before);
    },
    rows(): Promise<Map<number, Order>> {
      return readOrders(sql);
    },
  };
}
