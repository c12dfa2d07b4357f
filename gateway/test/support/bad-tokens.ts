import { sign } from 'hono/jwt';

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Every kind of token the gateway must refuse, built against `secret`; shared by the unit
 * tests of verification and the integration tests of the upgrade.
 */
export async function badTokens(secret: string): Promise<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000);
  const staff = { role: 'staff', iat: now, exp: now + 600 };
  const good = await sign(staff, secret, 'HS256');
  const [header, payload] = good.split('.');
  return {
    'alg none': `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(staff)}.`,
    'alg none with a signature': `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.${good.split('.')[2]}`,
    'wrong signature': await sign(staff, `${secret}-but-not-quite`, 'HS256'),
    'other algorithm': await sign(staff, secret, 'HS512'),
    expired: await sign({ ...staff, iat: now - 7200, exp: now - 3600 }, secret, 'HS256'),
    'not yet valid': await sign({ ...staff, nbf: now + 3600 }, secret, 'HS256'),
    'no expiry': await sign({ role: 'staff', iat: now }, secret, 'HS256'),
    'unknown role': await sign({ role: 'admin', iat: now, exp: now + 600 }, secret, 'HS256'),
    'customer without a customer': await sign(
      { role: 'customer', iat: now, exp: now + 600 },
      secret,
      'HS256',
    ),
    'tampered payload': `${header}.${b64url({ ...staff, role: 'staff', exp: now + 99999 })}.${good.split('.')[2]}`,
    malformed: 'not-a-jwt',
    'three garbage parts': 'a.b.c',
    'empty parts': '..',
  };
}
