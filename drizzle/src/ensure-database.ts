import postgres from 'postgres';

/** The database a URL points at, and a URL to the maintenance `postgres` database beside it. */
export function splitDatabaseUrl(url: string): { name: string; adminUrl: string } {
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (name.length === 0) throw new Error(`Database URL ${redact(url)} names no database`);
  parsed.pathname = '/postgres';
  return { name, adminUrl: parsed.toString() };
}

/** Hides the password so URLs can go into error messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable url>';
  }
}

/** Creates the database if it does not exist yet. Returns true when it was created. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const { name, adminUrl } = splitDatabaseUrl(url);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const existing = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
    if (existing.length > 0) return false;
    try {
      await admin`CREATE DATABASE ${admin(name)}`;
      return true;
    } catch (error) {
      // Another process created it between our check and our CREATE: that is success.
      if (isPgError(error, ['42P04', '23505'])) return false;
      throw error;
    }
  } catch (error) {
    throw new Error(`Could not ensure database "${name}" via ${redact(adminUrl)}: ${describeError(error)}`, {
      cause: error,
    });
  } finally {
    await admin.end({ timeout: 5 });
  }
}

export function isPgError(error: unknown, codes: readonly string[]): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    codes.includes(error.code)
  );
}

export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(describeError).join('; ');
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
