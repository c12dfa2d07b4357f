import type { OrderStatus } from '@orders/contract';
import type { Sql } from './db.ts';

type SeedOrder = { customerName: string; productName: string; status: OrderStatus };

const seedOrders: readonly SeedOrder[] = [
  { customerName: 'Alice Martin', productName: 'Espresso machine', status: 'delivered' },
  { customerName: 'Alice Martin', productName: 'Coffee grinder', status: 'shipped' },
  { customerName: 'Bob Nguyen', productName: 'Mechanical keyboard', status: 'paid' },
  { customerName: 'Bob Nguyen', productName: 'USB-C dock', status: 'pending' },
  { customerName: 'Chiara Rossi', productName: 'Trail running shoes', status: 'delivered' },
  { customerName: 'Chiara Rossi', productName: 'Hydration vest', status: 'cancelled' },
  { customerName: 'David Okafor', productName: 'Noise-cancelling headphones', status: 'shipped' },
  { customerName: 'Emma Schulz', productName: 'Cast iron skillet', status: 'pending' },
  { customerName: 'Emma Schulz', productName: 'Chef knife', status: 'paid' },
  { customerName: 'Farid Haddad', productName: 'Standing desk', status: 'pending' },
  { customerName: 'Grace Kim', productName: 'E-reader', status: 'delivered' },
  { customerName: 'Grace Kim', productName: 'Reading lamp', status: 'paid' },
];

/**
 * Inserts a dozen believable orders, but only into an empty table so a second run (or a
 * database the simulator already filled) is left alone. Returns how many rows were inserted.
 */
export async function seed(sql: Sql): Promise<number> {
  return sql.begin(async (tx) => {
    // Serialises concurrent seeders; otherwise both could see an empty table.
    await tx`LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE`;
    const [row] = await tx<{ count: number }[]>`SELECT count(*)::int AS count FROM orders`;
    if ((row?.count ?? 0) > 0) return 0;
    const rows = seedOrders.map((order) => ({
      customer_name: order.customerName,
      product_name: order.productName,
      status: order.status,
    }));
    const inserted = await tx`INSERT INTO orders ${tx(rows)} RETURNING id`;
    return inserted.length;
  });
}
