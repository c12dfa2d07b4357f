import { verify } from 'hono/jwt';
import { z } from 'zod';
import type { Principal } from './principal.ts';

/** Shortest accepted HS256 secret: below 256 bits the key is weaker than the hash. */
export const MIN_SECRET_LENGTH = 32;

/** Clock difference tolerated between the token issuer and the gateway. @default 30 s */
export const DEFAULT_LEEWAY_S = 30;

export interface VerifyOptions {
  /** Seconds of clock skew forgiven on `exp`, `nbf` and `iat`. @default DEFAULT_LEEWAY_S */
  leewayS?: number;
  /** When set, `aud` (a string or an array of strings) must contain it. */
  audience?: string;
  /** When set, `iss` must equal it. */
  issuer?: string;
  /** Current time in seconds; tests pin it. @default the wall clock */
  nowS?: number;
}

const time = z.number().finite();

const claimsSchema = z.discriminatedUnion('role', [
  z.object({
    role: z.literal('staff'),
    sub: z.string().min(1).max(200).optional(),
    exp: time,
    nbf: time.optional(),
    iat: time.optional(),
  }),
  z.object({
    role: z.literal('customer'),
    customer: z.string().min(1).max(200),
    exp: time,
    nbf: time.optional(),
    iat: time.optional(),
  }),
]);

export type VerifyResult =
  | { ok: true; principal: Principal /** The token's `exp`, seconds since the epoch. */; exp: number }
  | { ok: false; reason: string };

/**
 * The HS256 verification key for `secret`. Importing a key is most of the cost of verifying a
 * token, and a gateway verifies one per socket it opens: import it once and pass it to
 * {@link verifyToken}.
 */
export function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
}

/**
 * Verifies an HS256 token and reads its claims. The algorithm is pinned, so `alg: none` and
 * algorithm-confusion tokens fail the header check; `exp` is required because a token that
 * never expires cannot be withdrawn. hono checks the signature, `aud` and `iss`; the times are
 * checked here because hono has no leeway, and a gateway whose clock runs a few seconds behind
 * the issuer's would otherwise refuse every fresh token that carries `iat` or `nbf`.
 */
export async function verifyToken(
  token: string,
  /** The shared secret, or the HMAC key imported from it once (see {@link hmacKey}). */
  secret: string | CryptoKey,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  let payload: unknown;
  try {
    payload = await verify(token, secret, {
      alg: 'HS256',
      exp: false,
      nbf: false,
      iat: false,
      ...(options.audience === undefined ? {} : { aud: options.audience }),
      ...(options.issuer === undefined ? {} : { iss: options.issuer }),
    });
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.name : 'invalid token' };
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) return { ok: false, reason: 'claims' };
  const { data } = claims;
  const now = options.nowS ?? Date.now() / 1000;
  const leeway = options.leewayS ?? DEFAULT_LEEWAY_S;
  if (data.exp + leeway <= now) return { ok: false, reason: 'expired' };
  if (data.nbf !== undefined && data.nbf - leeway > now) return { ok: false, reason: 'not yet valid' };
  if (data.iat !== undefined && data.iat - leeway > now) return { ok: false, reason: 'issued in the future' };
  return {
    ok: true,
    principal:
      data.role === 'customer'
        ? { role: 'customer', customer: data.customer }
        : data.sub === undefined
          ? { role: 'staff' }
          : { role: 'staff', sub: data.sub },
    exp: data.exp,
  };
}
