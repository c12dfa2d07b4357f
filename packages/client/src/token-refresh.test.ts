import { describe, expect, it } from 'vitest';
import { readTokenTimes, refreshDelayMs } from './token-refresh.ts';

const jwt = (payload: unknown) =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

describe('readTokenTimes', () => {
  it('reads exp and iat from a base64url payload, including non-ASCII claims', () => {
    // 'ü' and '?' give base64url's '-' and '_' characters in the payload.
    const token = jwt({
      role: 'customer',
      customer: 'Jürgen ???>>>',
      exp: 1_800_000_060,
      iat: 1_800_000_000,
    });
    expect(token).toMatch(/[-_]/);
    expect(readTokenTimes(token)).toEqual({ exp: 1_800_000_060, iat: 1_800_000_000 });
    expect(readTokenTimes(jwt({ exp: 5 }))).toEqual({ exp: 5 });
  });

  it('gives up on tokens it cannot read', () => {
    for (const token of ['', 'opaque', 'a..c', 'a.%%%.c', jwt({ iat: 1 }), jwt({ exp: '5' }), jwt([1])]) {
      expect(readTokenTimes(token), token).toBeUndefined();
    }
  });
});

describe('refreshDelayMs', () => {
  const now = 1_800_000_000_000;

  it('refreshes a minute before exp, or at 80 % of the time left for short tokens', () => {
    expect(refreshDelayMs({ exp: now / 1000 + 12 * 3600 }, now)).toBe(12 * 3600_000 - 60_000);
    expect(refreshDelayMs({ exp: now / 1000 + 3 }, now)).toBe(2400);
    expect(refreshDelayMs({ exp: now / 1000 + 120 }, now)).toBe(96_000);
  });

  it('falls back to the token’s own lifetime when this clock is past exp, and never asks in a loop', () => {
    expect(refreshDelayMs({ exp: now / 1000 - 5, iat: now / 1000 - 15 }, now)).toBe(8000);
    expect(refreshDelayMs({ exp: now / 1000 - 5 }, now)).toBe(500);
  });
});
