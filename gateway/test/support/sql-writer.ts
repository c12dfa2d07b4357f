import type { Order, Sql } from '@orders/drizzle';
import { type OrderRecord, readOrders, toOrder } from './order-record.ts';
import type { Writer } from './traffic.ts';

/** Plain SQL writes; the real capture path (Debezium, Kafka, worker) carries them to Redis. */
export function createSqlWriter(
  sql: Sql,
): Writer & { rows(filter?: (o: Order) => boolean): Promise<Map<number, Order>> } {
  return {
    async insert(customer, status = 'pending') {
      const [r] = await sql<OrderRecord[]>`
        insert into orders (customer_name, product_name, status) values (${customer}, 'widget', ${status}) returning *`;
      if (r === undefined) throw new Error('insert returned nothing');
      return toOrder(r);
    },
    async update(id, set) {
      const [r] = await sql<OrderRecord[]>`
        update orders set
          status = coalesce(${set.status ?? null}::order_status, status),
          customer_name = coalesce(${set.customer ?? null}, customer_name)
        where id = ${id} returning *`;
      if (r === undefined) throw new Error(`order ${id} missing`);
      return toOrder(r);
    },
    async remove(id) {
      const result = await sql`delete from orders where id = ${id}`;
      if (result.count === 0) throw new Error(`order ${id} missing`);
    },
    rows(filter) {
      return readOrders(sql, filter);
    },
  };
}
