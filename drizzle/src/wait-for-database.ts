import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import { describe, redact, splitDatabaseUrl } from './ensure-database.ts';

/** Node's codes for a server that is not (yet) reachable: down, still starting, not in DNS yet. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** PostgreSQL's "starting up" / "shutting down" refusals (cannot_connect_now, admin_shutdown). */
const STARTING_CODES = new Set(['57P03', '57P01']);

const RETRY_INTERVAL_MS = 1000;

function isNotReadyYet(error: unknown): boolean {
  const errors = error instanceof AggregateError ? error.errors : [error];
  return errors.some((e: unknown) => {
    if (typeof e !== 'object' || e === null || !('code' in e) || typeof e.code !== 'string') return false;
    return NETWORK_CODES.has(e.code) || STARTING_CODES.has(e.code);
  });
}

/**
 * Waits until the server behind `url` accepts a connection and answers a query, for at most
 * `timeoutMs`. Containers start together, so a first attempt may find the server still in its
 * init phase (no TCP listener) or not in DNS yet; those are retried. Anything else (a wrong
 * password, say) fails at once. Asks the maintenance database, which exists before ours does.
 * `onRetry` hears of each failed attempt that will be retried.
 */
export async function waitForDatabase(
  url: string,
  timeoutMs: number,
  onRetry: (attempt: number, error: string) => void | Promise<void> = () => {},
): Promise<{ attempts: number }> {
  const { adminUrl } = splitDatabaseUrl(url);
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (let attempts = 1; ; attempts++) {
    const sql = postgres(adminUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
    try {
      await sql`SELECT 1`;
      return { attempts };
    } catch (error) {
      lastError = describe(error);
      if (!isNotReadyYet(error) || Date.now() + RETRY_INTERVAL_MS > deadline) {
        throw new Error(
          `PostgreSQL at ${redact(adminUrl)} did not answer after ${attempts} attempt(s): ${describe(error)}`,
          { cause: error },
        );
      }
    } finally {
      await sql.end({ timeout: 1 });
    }
    await onRetry(attempts, lastError);
    await delay(RETRY_INTERVAL_MS);
  }
}
