import type { Grant } from './grant.ts';
import { createOriginCheck } from './origin.ts';
import { DEFAULT_LEEWAY_S, type Hs256Check, verifyToken, webCryptoHs256 } from './verify-token.ts';

/** Where authentication plugs in: once before the upgrade, again for every `auth` frame. */
export interface Authorize {
  /**
   * Decides whether a request may open a socket: a Response refuses it, a Grant scopes what
   * the socket may see and for how long, undefined admits it as staff for good.
   */
  upgrade(request: Request): Promise<Response | Grant | undefined> | Response | Grant | undefined;
  /** Verifies a token sent on an open socket; a string says why it is refused. */
  token(token: string): Promise<Grant | string>;
}

export interface AuthOptions {
  secret: string;
  /** Browser origins allowed to open sockets; `*` allows any. */
  allowedOrigins: readonly string[];
  /** Clock skew forgiven on `exp`, `nbf` and `iat`, also how long a socket outlives `exp`. @default 30 */
  leewayS?: number;
  /** Required `aud` entry when set. */
  audience?: string;
  /** Required `iss` when set. */
  issuer?: string;
  /**
   * Builds the HS256 check from the secret. Node's wiring passes `nodeHs256` (synchronous);
   * @default webCryptoHs256, which any runtime has
   */
  hs256?: (secret: string) => Hs256Check;
}

const refuse = (status: 401 | 403, error: string): Response =>
  new Response(JSON.stringify({ error }), {
    status,
    headers: {
      'content-type': 'application/json',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="orders"' } : {}),
    },
  });

/**
 * Upgrades are decided before the socket exists (a refused request never becomes a
 * WebSocket); tokens sent later on an open socket pass the same verification.
 */
export function createAuthorize(options: AuthOptions): Authorize {
  const originAllowed = createOriginCheck(options.allowedOrigins);
  const leewayS = options.leewayS ?? DEFAULT_LEEWAY_S;
  const verifyOptions = {
    leewayS,
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
  };
  const check = (options.hs256 ?? webCryptoHs256)(options.secret);
  const grant = async (token: string) => {
    const result = await verifyToken(token, check, verifyOptions);
    return result.ok ? { principal: result.principal, exp: result.exp, leewayS } : result.reason;
  };
  return {
    async upgrade(request) {
      if (!originAllowed(request.headers.get('origin') ?? undefined))
        return refuse(403, 'origin not allowed');
      const token = readToken(request);
      if (token === undefined) return refuse(401, 'missing token');
      const verdict = await grant(token);
      return typeof verdict === 'string' ? refuse(401, 'invalid token') : verdict;
    },
    token: grant,
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
