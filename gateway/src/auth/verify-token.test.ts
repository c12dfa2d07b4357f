import { sign } from 'hono/jwt';
import { describe, expect, it } from 'vitest';
import { badTokens } from '../../test/support/bad-tokens.ts';
import { mintToken } from './dev-token.ts';
import { hmacKey, verifyToken } from './verify-token.ts';

const secret = 'x'.repeat(40);
const now = 1_800_000_000;
const staff = (claims: Record<string, unknown>) => sign({ role: 'staff', ...claims }, secret, 'HS256');

describe('verifyToken', () => {
  it('accepts staff and customer tokens and reads their claims', async () => {
    const staffToken = await mintToken(secret, { role: 'staff' }, 600);
    expect(await verifyToken(staffToken, secret)).toEqual({
      ok: true,
      principal: { role: 'staff' },
      exp: expect.any(Number),
    });
    const customer = await mintToken(secret, { role: 'customer', customer: 'Alice' });
    expect(await verifyToken(customer, secret)).toEqual({
      ok: true,
      principal: { role: 'customer', customer: 'Alice' },
      exp: expect.any(Number),
    });
  });

  it('reads a staff token’s subject, which the connection caps count staff by', async () => {
    const result = await verifyToken(await staff({ sub: 'ann', exp: now + 60 }), secret, { nowS: now });
    expect(result).toMatchObject({ ok: true, principal: { role: 'staff', sub: 'ann' } });
    const bad = await verifyToken(await staff({ sub: 7, exp: now + 60 }), secret, { nowS: now });
    expect(bad.ok).toBe(false);
  });

  it('returns the token’s exp', async () => {
    const result = await verifyToken(await staff({ exp: now + 60 }), secret, { nowS: now });
    expect(result).toMatchObject({ ok: true, exp: now + 60 });
  });

  it('[P49] refuses every bad token', async () => {
    for (const [name, token] of Object.entries(await badTokens(secret))) {
      const result = await verifyToken(token, secret);
      expect(result.ok, name).toBe(false);
    }
  });

  it('verifies with a key imported once exactly as with the secret', async () => {
    const key = await hmacKey(secret);
    const good = await mintToken(secret, { role: 'customer', customer: 'Alice' });
    expect(await verifyToken(good, key)).toEqual(await verifyToken(good, secret));
    for (const [name, token] of Object.entries(await badTokens(secret))) {
      expect((await verifyToken(token, key)).ok, name).toBe(false);
    }
    const otherKey = await hmacKey(`${secret}-but-not-quite`);
    expect((await verifyToken(good, otherKey)).ok).toBe(false);
  });

  it('[P50] forgives clock skew up to the leeway on exp, nbf and iat, and not beyond', async () => {
    const at = (token: string, leewayS: number) =>
      verifyToken(token, secret, { nowS: now, leewayS }).then((r) => r.ok);
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
    expect((await verifyToken(expired, secret, { nowS: now })).ok).toBe(true);
    expect((await verifyToken(expired, secret, { nowS: now + 2 })).ok).toBe(false);
  });

  it('refuses time claims that are not numbers', async () => {
    for (const claims of [
      { exp: String(now + 60) },
      { exp: now + 60, nbf: 'soon' },
      { exp: now + 60, iat: null },
    ]) {
      expect((await verifyToken(await staff(claims), secret, { nowS: now })).ok, JSON.stringify(claims)).toBe(
        false,
      );
    }
  });

  it('checks aud (a string or an array) only when an audience is configured', async () => {
    const options = { nowS: now, audience: 'orders' };
    const exp = now + 60;
    expect((await verifyToken(await staff({ exp, aud: 'orders' }), secret, options)).ok).toBe(true);
    expect((await verifyToken(await staff({ exp, aud: ['billing', 'orders'] }), secret, options)).ok).toBe(
      true,
    );
    expect((await verifyToken(await staff({ exp, aud: 'billing' }), secret, options)).ok).toBe(false);
    expect((await verifyToken(await staff({ exp, aud: ['billing'] }), secret, options)).ok).toBe(false);
    expect((await verifyToken(await staff({ exp }), secret, options)).ok).toBe(false);
    expect((await verifyToken(await staff({ exp, aud: 'billing' }), secret, { nowS: now })).ok).toBe(true);
  });

  it('checks iss only when an issuer is configured', async () => {
    const options = { nowS: now, issuer: 'https://id.example' };
    const exp = now + 60;
    expect((await verifyToken(await staff({ exp, iss: 'https://id.example' }), secret, options)).ok).toBe(
      true,
    );
    expect((await verifyToken(await staff({ exp, iss: 'https://evil.example' }), secret, options)).ok).toBe(
      false,
    );
    expect((await verifyToken(await staff({ exp }), secret, options)).ok).toBe(false);
    expect((await verifyToken(await staff({ exp, iss: 'anyone' }), secret, { nowS: now })).ok).toBe(true);
  });
});
