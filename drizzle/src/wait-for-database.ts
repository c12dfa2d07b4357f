import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import { describeError, redact, splitDatabaseUrl } from './ensure-database.ts';

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

/** PostgreSQL's codes for a refused login: invalid_password, invalid_authorization_specification. */
const AUTHENTICATION_CODES = new Set(['28P01', '28000']);

/**
 * What to do about a refused login. The usual cause is a password changed in `.env` after the
 * first start: the postgres image sets the password only when it creates its data volume, so
 * the role keeps the old one.
 */
export function authenticationHint(error: unknown, user: string): string | undefined {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  if (typeof code !== 'string' || !AUTHENTICATION_CODES.has(code)) return undefined;
  return (
    `the server refused the login of "${user}". If the password in .env changed after the database ` +
    "was first created, the server still has the old one: set it back, or change the role's password " +
    `(ALTER ROLE "${user}" PASSWORD '…'), or with compose start over with "docker compose down -v", ` +
    'which deletes the data'
  );
}

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
      lastError = describeError(error);
      if (!isNotReadyYet(error) || Date.now() + RETRY_INTERVAL_MS > deadline) {
        const hint = authenticationHint(error, decodeURIComponent(new URL(adminUrl).username || 'postgres'));
        throw new Error(
          `PostgreSQL at ${redact(adminUrl)} did not answer after ${attempts} attempt(s): ${describeError(error)}` +
            (hint === undefined ? '' : `; ${hint}`),
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
