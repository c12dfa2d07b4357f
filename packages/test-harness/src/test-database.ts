import {
  createDb,
  describeError,
  migrateDatabase,
  redact,
  type Sql,
  splitDatabaseUrl,
} from '@orders/drizzle';
import { env } from '@orders/drizzle/env';
import postgres from 'postgres';
import { newNamespace } from './namespace.ts';

export interface TestDatabase {
  name: string;
  /** Owner (superuser) connection URL. */
  url: string;
  /** The read-only `orders_reader` role on the same database. */
  readerUrl: string;
  /** Owner connection pool, closed by drop(). */
  sql: Sql;
  /** Closes `sql` and drops the database, even if other sessions are still connected. */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** @default `orders_<random namespace>` */
  name?: string;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** A fresh, migrated database of its own, so suites cannot see each other's rows. */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = options.name ?? `orders_${newNamespace()}`;
  const url = withDatabase(env.DATABASE_URL, name);
  const readerUrl = withDatabase(env.DATABASE_READER_URL, name);
  try {
    await migrateDatabase(url);
  } catch (error) {
    throw new Error(
      `PostgreSQL: could not create and migrate test database ${redact(url)} (is PostgreSQL running? ` +
        `start the stack with "npm run stack:up"): ${describeError(error)}`,
      { cause: error },
    );
  }
  const { sql, close } = createDb(url);
  return {
    name,
    url,
    readerUrl,
    sql,
    drop: async () => {
      await close();
      await dropDatabase(url);
    },
  };
}

export async function dropDatabase(url: string): Promise<void> {
  const { name, adminUrl } = splitDatabaseUrl(url);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
  } finally {
    await admin.end({ timeout: 5 });
  }
}
