import { verify } from 'hono/jwt';
import { z } from 'zod';
import type { Principal } from './principal.ts';

/** Shortest accepted HS256 secret: below 256 bits the key is weaker than the hash. */
export const MIN_SECRET_LENGTH = 32;

const claimsSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('staff'), exp: z.number() }),
  z.object({ role: z.literal('customer'), customer: z.string().min(1).max(200), exp: z.number() }),
]);

export type VerifyResult = { ok: true; principal: Principal } | { ok: false; reason: string };

/**
 * Verifies an HS256 token and reads its claims. The algorithm is pinned, so `alg: none` and
 * algorithm-confusion tokens fail the header check; `exp` is required because a token that
 * never expires cannot be withdrawn.
 */
export async function verifyToken(token: string, secret: string): Promise<VerifyResult> {
  let payload: unknown;
  try {
    payload = await verify(token, secret, { alg: 'HS256', exp: true, nbf: true, iat: true });
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.name : 'invalid token' };
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) return { ok: false, reason: 'claims' };
  const { data } = claims;
  return {
    ok: true,
    principal: data.role === 'staff' ? { role: 'staff' } : { role: 'customer', customer: data.customer },
  };
}
