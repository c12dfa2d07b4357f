import { describe, expect, it } from 'vitest';
import { badTokens } from './bad-tokens.ts';
import { mintToken } from './dev-token.ts';
import { verifyToken } from './verify-token.ts';

const secret = 'x'.repeat(40);

describe('verifyToken', () => {
  it('accepts staff and customer tokens and reads their claims', async () => {
    expect(await verifyToken(await mintToken(secret, { role: 'staff' }), secret)).toEqual({
      ok: true,
      principal: { role: 'staff' },
    });
    const customer = await mintToken(secret, { role: 'customer', customer: 'Alice' });
    expect(await verifyToken(customer, secret)).toEqual({
      ok: true,
      principal: { role: 'customer', customer: 'Alice' },
    });
  });

  it('refuses every bad token', async () => {
    for (const [name, token] of Object.entries(await badTokens(secret))) {
      const result = await verifyToken(token, secret);
      expect(result.ok, name).toBe(false);
    }
  });
});
