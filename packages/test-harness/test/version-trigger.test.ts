import { orders } from '@orders/drizzle';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../src/index.ts';

// Timestamps stay PostgreSQL text here: drizzle installs its own parsers on the client it wraps.
type Versioned = { id: number; version: number; created_at: string; updated_at: string; later: boolean };

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe('version trigger', () => {
  it('bumps version and updated_at on a plain-SQL UPDATE', async () => {
    const { sql } = database;
    const [before] = await sql<Versioned[]>`
      INSERT INTO orders (customer_name, product_name) VALUES ('Bob Nguyen', 'USB-C dock')
      RETURNING id, version, created_at, updated_at`;
    if (!before) throw new Error('insert returned no row');
    expect(before.version).toBe(1);

    const [after] = await sql<Versioned[]>`
      UPDATE orders SET status = 'paid' WHERE id = ${before.id}
      RETURNING id, version, created_at, updated_at, updated_at > ${before.updated_at}::timestamptz AS later`;
    expect(before.updated_at).toBe(before.created_at);
    expect(after?.version).toBe(2);
    expect(after?.created_at).toBe(before.created_at);
    expect(after?.later).toBe(true);
  });

  it('ignores a writer that sets version itself', async () => {
    const { sql } = database;
    const [row] = await sql<Versioned[]>`
      INSERT INTO orders (customer_name, product_name) VALUES ('Emma Schulz', 'Chef knife') RETURNING id, version`;
    if (!row) throw new Error('insert returned no row');
    const [after] = await sql<Versioned[]>`
      UPDATE orders SET version = 100, customer_name = 'Grace Kim' WHERE id = ${row.id} RETURNING version`;
    expect(after?.version).toBe(2);
  });

  it('bumps version on updates made through drizzle too', async () => {
    const db = drizzle(database.sql);
    const [row] = await db
      .insert(orders)
      .values({ customerName: 'Farid Haddad', productName: 'Standing desk' })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await db.update(orders).set({ status: 'paid' }).where(eq(orders.id, row.id));
    await db.update(orders).set({ status: 'shipped' }).where(eq(orders.id, row.id));
    const [current] = await db.select().from(orders).where(eq(orders.id, row.id));
    expect(current).toMatchObject({ status: 'shipped', version: 3 });
  });
});
