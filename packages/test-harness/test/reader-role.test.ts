import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../src/index.ts';

let database: TestDatabase;
let reader: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase();
  reader = postgres(database.readerUrl, { max: 1, onnotice: () => {} });
  await database.sql`INSERT INTO orders (customer_name, product_name) VALUES ('Grace Kim', 'E-reader')`;
});

afterAll(async () => {
  await reader?.end({ timeout: 5 });
  await database?.drop();
});

describe('orders_reader', () => {
  it('can read orders', async () => {
    const rows = await reader`SELECT customer_name FROM orders`;
    expect(rows).toEqual([{ customer_name: 'Grace Kim' }]);
  });

  it('cannot write', async () => {
    await expect(reader`UPDATE orders SET status = 'paid'`).rejects.toThrow(/read-only|permission denied/);
    await expect(
      reader`INSERT INTO orders (customer_name, product_name) VALUES ('Mallory', 'Anything')`,
    ).rejects.toThrow(/read-only|permission denied/);
  });
});
