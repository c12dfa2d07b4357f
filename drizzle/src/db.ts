import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.ts';

export type Sql = postgres.Sql;
export type Database = PostgresJsDatabase<typeof schema>;

export interface DbHandle {
  db: Database;
  /**
   * The postgres-js client under `db`. drizzle replaces its parsers for date/time types, so
   * raw queries here get timestamps as PostgreSQL text (select `to_json(col)` for ISO strings)
   * and timestamp parameters must be passed as ISO strings, not Date objects.
   */
  sql: Sql;
  /** Waits up to 5 s for running queries, then closes every connection. */
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** Pool size. @default 10 */
  max?: number;
}

export function createDb(url: string, options: CreateDbOptions = {}): DbHandle {
  const sql = postgres(url, {
    max: options.max ?? 10,
    // Idempotent DDL ("already exists, skipping") would otherwise print on every run.
    onnotice: () => {},
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
