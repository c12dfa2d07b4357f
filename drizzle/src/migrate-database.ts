import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { createDb } from './db.ts';
import { ensureDatabase } from './ensure-database.ts';

/** The generated SQL plus the hand-written `cdc_setup` migration. */
export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));

/**
 * Creates the database when missing, then applies pending migrations. Applied migrations are
 * recorded in `drizzle.__drizzle_migrations`, so running it again is a no-op.
 */
export async function migrateDatabase(url: string): Promise<{ created: boolean }> {
  const created = await ensureDatabase(url);
  const { db, close } = createDb(url, { max: 1 });
  try {
    await migrate(db, { migrationsFolder });
  } finally {
    await close();
  }
  return { created };
}
