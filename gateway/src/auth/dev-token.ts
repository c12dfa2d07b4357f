import { sign } from 'hono/jwt';
import type { Principal } from './principal.ts';

/** Demo tokens live long enough for a session at the page, short enough to matter. @default 12 h */
export const DEV_TOKEN_TTL_S = 12 * 60 * 60;

/** Signs a token for a principal; only reachable in development mode. */
export function mintToken(
  secret: string,
  principal: Principal,
  ttlSeconds = DEV_TOKEN_TTL_S,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ ...principal, iat: now, exp: now + ttlSeconds }, secret, 'HS256');
}

/** Reads `?role=staff|customer&customer=…`; no role means staff, the page's default view. */
export function devPrincipal(query: URLSearchParams): Principal | string {
  const role = query.get('role') ?? 'staff';
  if (role === 'staff') return { role: 'staff' };
  if (role !== 'customer') return 'role must be staff or customer';
  const customer = query.get('customer') ?? '';
  if (customer === '' || customer.length > 200) return 'customer tokens need ?customer=<name>';
  return { role: 'customer', customer };
}
