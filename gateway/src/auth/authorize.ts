import type { Authorize } from '../app.ts';
import { createOriginCheck } from './origin.ts';
import { verifyToken } from './verify-token.ts';

export interface AuthOptions {
  secret: string;
  /** Browser origins allowed to open sockets; `*` allows any. */
  allowedOrigins: readonly string[];
}

const refuse = (status: 401 | 403, error: string): Response =>
  new Response(JSON.stringify({ error }), {
    status,
    headers: {
      'content-type': 'application/json',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="orders"' } : {}),
    },
  });

/** Runs before the upgrade: a refused request never becomes a WebSocket. */
export function createAuthorize(options: AuthOptions): Authorize {
  const originAllowed = createOriginCheck(options.allowedOrigins);
  return async (request) => {
    if (!originAllowed(request.headers.get('origin') ?? undefined)) return refuse(403, 'origin not allowed');
    const token = readToken(request);
    if (token === undefined) return refuse(401, 'missing token');
    const result = await verifyToken(token, options.secret);
    return result.ok ? result.principal : refuse(401, 'invalid token');
  };
}

/** `?token=` for browsers (they cannot set headers on an upgrade), else `Authorization: Bearer`. */
function readToken(request: Request): string | undefined {
  const query = new URL(request.url).searchParams.get('token');
  if (query !== null && query !== '') return query;
  const header = request.headers.get('authorization');
  const match = header === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
