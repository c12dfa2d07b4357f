import { sign } from 'hono/jwt';
import { describe, expect, it } from 'vitest';
import { badTokens } from '../../test/support/bad-tokens.ts';
import { mintToken } from './dev-token.ts';
import { nodeHs256 } from './node-hs256.ts';
import { type VerifyOptions, verifyToken as verifyWith, webCryptoHs256 } from './verify-token.ts';

const secret = 'x'.repeat(40);
const now = 1_800_000_000;
const staff = (claims: Record<string, unknown>) => sign({ role: 'staff', ...claims }, secret, 'HS256');
const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

// Every case runs with both checks: WebCrypto (any runtime, a promise) and Node's HMAC (sync).
describe.each([
  ['WebCrypto', webCryptoHs256],
  ['node:crypto', nodeHs256],
] as const)('verifyToken with the %s check', (_name, makeCheck) => {
  const check = makeCheck(secret);
  const verifyToken = async (token: string, options?: VerifyOptions) => verifyWith(token, check, options);

  it('accepts staff and customer tokens and reads their claims', async () => {
    const staffToken = await mintToken(secret, { role: 'staff' }, 600);
    expect(await verifyToken(staffToken)).toEqual({
      ok: true,
      principal: { role: 'staff' },
      exp: expect.any(Number),
    });
    const customer = await mintToken(secret, { role: 'customer', customer: 'Alice' });
    expect(await verifyToken(customer)).toEqual({
      ok: true,
      principal: { role: 'customer', customer: 'Alice' },
      exp: expect.any(Number),
    });
  });

  it('reads a staff token’s subject, which the connection caps count staff by', async () => {
    const result = await verifyToken(await staff({ sub: 'ann', exp: now + 60 }), { nowS: now });
    expect(result).toMatchObject({ ok: true, principal: { role: 'staff', sub: 'ann' } });
    const bad = await verifyToken(await staff({ sub: 7, exp: now + 60 }), { nowS: now });
    expect(bad.ok).toBe(false);
  });

  it('returns the token’s exp', async () => {
    const result = await verifyToken(await staff({ exp: now + 60 }), { nowS: now });
    expect(result).toMatchObject({ ok: true, exp: now + 60 });
  });

  it('[P49] refuses every bad token', async () => {
    for (const [name, token] of Object.entries(await badTokens(secret))) {
      const result = await verifyToken(token);
      expect(result.ok, name).toBe(false);
    }
  });

  it('refuses a token signed with another secret, and one whose signature is cut or padded', async () => {
    const good = await mintToken(secret, { role: 'customer', customer: 'Alice' });
    expect((await verifyToken(good)).ok).toBe(true);
    expect((await verifyWith(good, makeCheck(`${secret}-but-not-quite`))).ok).toBe(false);
    const [header, payload, signature = ''] = good.split('.');
    for (const bad of [
      signature.slice(0, -2),
      `${signature}AA`,
      `${signature}=`,
      signature.replace(/./, '+'),
    ]) {
      expect((await verifyToken(`${header}.${payload}.${bad}`)).ok, bad).toBe(false);
    }
  });

  it('refuses a header that is not HS256 JSON, and a typ other than JWT', async () => {
    const good = await staff({ exp: now + 60 });
    const [, payload, signature] = good.split('.');
    for (const header of [
      b64url({ alg: 'HS256', typ: 'JOSE+JSON' }),
      b64url({ alg: 'hs256' }),
      b64url(['HS256']),
      'e30', // {}
      '!!!',
    ]) {
      expect((await verifyToken(`${header}.${payload}.${signature}`, { nowS: now })).ok, header).toBe(false);
    }
  });

  it('[P50] forgives clock skew up to the leeway on exp, nbf and iat, and not beyond', async () => {
    const at = (token: string, leewayS: number) =>
      verifyToken(token, { nowS: now, leewayS }).then((r) => r.ok);
    const expired10s = await staff({ exp: now - 10 });
    expect(await at(expired10s, 30)).toBe(true);
    expect(await at(expired10s, 10)).toBe(false);
    expect(await at(expired10s, 0)).toBe(false);
    const notBefore10s = await staff({ exp: now + 600, nbf: now + 10 });
    expect(await at(notBefore10s, 30)).toBe(true);
    expect(await at(notBefore10s, 10)).toBe(true);
    expect(await at(notBefore10s, 9)).toBe(false);
    const issuedIn10s = await staff({ exp: now + 600, iat: now + 10 });
    expect(await at(issuedIn10s, 30)).toBe(true);
    expect(await at(issuedIn10s, 9)).toBe(false);
    // Without leeway the boundaries are the claims themselves.
    expect(await at(await staff({ exp: now }), 0)).toBe(false);
    expect(await at(await staff({ exp: now + 1, nbf: now, iat: now }), 0)).toBe(true);
  });

  it('uses 30 s of leeway by default', async () => {
    const expired = await staff({ exp: now - 29 });
    expect((await verifyToken(expired, { nowS: now })).ok).toBe(true);
    expect((await verifyToken(expired, { nowS: now + 2 })).ok).toBe(false);
  });

  it('refuses time claims that are not numbers', async () => {
    for (const claims of [
      { exp: String(now + 60) },
      { exp: now + 60, nbf: 'soon' },
      { exp: now + 60, iat: null },
    ]) {
      expect((await verifyToken(await staff(claims), { nowS: now })).ok, JSON.stringify(claims)).toBe(false);
    }
  });

  it('checks aud (a string or an array) only when an audience is configured', async () => {
    const options = { nowS: now, audience: 'orders' };
    const exp = now + 60;
    expect((await verifyToken(await staff({ exp, aud: 'orders' }), options)).ok).toBe(true);
    expect((await verifyToken(await staff({ exp, aud: ['billing', 'orders'] }), options)).ok).toBe(true);
    expect((await verifyToken(await staff({ exp, aud: 'billing' }), options)).ok).toBe(false);
    expect((await verifyToken(await staff({ exp, aud: ['billing'] }), options)).ok).toBe(false);
    expect((await verifyToken(await staff({ exp }), options)).ok).toBe(false);
    expect((await verifyToken(await staff({ exp, aud: 'billing' }), { nowS: now })).ok).toBe(true);
  });

  it('checks iss only when an issuer is configured', async () => {
    const options = { nowS: now, issuer: 'https://id.example' };
    const exp = now + 60;
    expect((await verifyToken(await staff({ exp, iss: 'https://id.example' }), options)).ok).toBe(true);
    expect((await verifyToken(await staff({ exp, iss: 'https://evil.example' }), options)).ok).toBe(false);
    expect((await verifyToken(await staff({ exp }), options)).ok).toBe(false);
    expect((await verifyToken(await staff({ exp, iss: 'anyone' }), { nowS: now })).ok).toBe(true);
  });
});

describe('verifyToken with a synchronous check', () => {
  it('is synchronous with a synchronous check', async () => {
    const result = verifyWith(await staff({ exp: now + 60 }), nodeHs256(secret), { nowS: now });
    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toMatchObject({ ok: true });
  });
});
