/** The orders table as the test writers read it back, and its mapping to the wire `Order`. */
import type { Order, Sql } from '@orders/drizzle';

export interface OrderRecord {
  id: number;
  customer_name: string;
  product_name: string;
  status: Order['status'];
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

// drizzle's driver switches the shared pool to return timestamps as text.
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

/** The database's rows (those `filter` keeps) by id: what a converged subscriber must hold. */
export async function readOrders(
  sql: Sql,
  filter: (o: Order) => boolean = () => true,
): Promise<Map<number, Order>> {
  const all = await sql<OrderRecord[]>`select * from orders order by id`;
  return new Map(
    all
      .map(toOrder)
      .filter(filter)
      .map((o) => [o.id, o]),
  );
}
