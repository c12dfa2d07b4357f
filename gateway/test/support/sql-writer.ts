import type { Order, Sql } from '@orders/drizzle';
import type { Writer } from './traffic.ts';

interface OrderRecord {
  id: number;
  customer_name: string;
  product_name: string;
  status: Order['status'];
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

export function toOrder(r: OrderRecord): Order {
  return {
    id: r.id,
    customerName: r.customer_name,
    productName: r.product_name,
    status: r.status,
    version: r.version,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

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
    async rows(filter = () => true) {
      const all = await sql<OrderRecord[]>`select * from orders order by id`;
      return new Map(
        all
          .map(toOrder)
          .filter(filter)
          .map((o) => [o.id, o]),
      );
    },
  };
}
