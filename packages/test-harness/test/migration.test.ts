import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { migrateDatabase, migrationsFolder } from '@orders/drizzle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../src/index.ts';

let first: TestDatabase;
let second: TestDatabase;

beforeAll(async () => {
  // Two databases: the second migration meets roles the first one already created.
  [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
});

afterAll(async () => {
  await Promise.all([first?.drop(), second?.drop()]);
});

async function appliedMigrations(db: TestDatabase): Promise<number> {
  const [row] = await db.sql<
    { count: number }[]
  >`SELECT count(*)::int AS count FROM drizzle.__drizzle_migrations`;
  return row?.count ?? 0;
}

describe('migrations', () => {
  it('apply once and are a no-op the second time', async () => {
    const journal = JSON.parse(await readFile(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    expect(await appliedMigrations(first)).toBe(journal.entries.length);
    await expect(migrateDatabase(first.url)).resolves.toEqual({ created: false });
    expect(await appliedMigrations(first)).toBe(journal.entries.length);
  });

  it('leave a cdc_setup script that can run again as is', async () => {
    const script = await readFile(join(migrationsFolder, '0001_cdc_setup.sql'), 'utf8');
    for (const statement of script.split('--> statement-breakpoint')) {
      await first.sql.unsafe(statement);
    }
    const [publication] = await first.sql<{ count: number }[]>`
      SELECT count(*)::int AS count FROM pg_publication_tables
      WHERE pubname = 'orders_publication' AND tablename = 'orders'`;
    expect(publication?.count).toBe(1);
    const [triggers] = await first.sql<{ count: number }[]>`
      SELECT count(*)::int AS count FROM pg_trigger WHERE tgname = 'orders_bump_version'`;
    expect(triggers?.count).toBe(1);
  });

  it('set up replica identity, publication and the two roles', async () => {
    const [table] = await second.sql<{ relreplident: string }[]>`
      SELECT relreplident FROM pg_class WHERE oid = 'public.orders'::regclass`;
    expect(table?.relreplident).toBe('f');
    const roles = await second.sql<{ rolname: string; rolreplication: boolean; rolcanlogin: boolean }[]>`
      SELECT rolname, rolreplication, rolcanlogin FROM pg_roles
      WHERE rolname IN ('orders_debezium', 'orders_reader') ORDER BY rolname`;
    expect(roles).toEqual([
      { rolname: 'orders_debezium', rolreplication: true, rolcanlogin: true },
      { rolname: 'orders_reader', rolreplication: false, rolcanlogin: true },
    ]);
    const [grants] = await second.sql<Record<string, boolean>[]>`
      SELECT has_database_privilege('orders_debezium', current_database(), 'CONNECT') AS dbz_connect,
             has_database_privilege('orders_debezium', current_database(), 'CREATE') AS dbz_create,
             has_table_privilege('orders_debezium', 'public.orders', 'SELECT') AS dbz_select,
             has_database_privilege('orders_reader', current_database(), 'CONNECT') AS reader_connect,
             has_table_privilege('orders_reader', 'public.orders', 'SELECT') AS reader_select,
             has_table_privilege('orders_reader', 'public.orders', 'INSERT,UPDATE,DELETE') AS reader_writes`;
    expect(grants).toEqual({
      dbz_connect: true,
      dbz_create: true,
      dbz_select: true,
      reader_connect: true,
      reader_select: true,
      reader_writes: false,
    });
  });
});
