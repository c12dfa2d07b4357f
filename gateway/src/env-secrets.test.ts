import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDevTokenIssuerEnv } from './dev-token-issuer-env.ts';
import { authSettings, loadEnv } from './env.ts';

/** The value `.env.example` ships for `name` (commented out or not), read from the file. */
const exampleValue = (name: string) => {
  const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  const value = new RegExp(`^(?:# )?${name}=(.*)$`, 'm').exec(text)?.[1];
  if (value === undefined) throw new Error(`.env.example has no ${name} line`);
  return value;
};
const exampleSecret = exampleValue('JWT_SECRET');

const weak = {
  'the .env.example value': exampleSecret,
  'another placeholder': 'please-CHANGE_ME-before-deploying-this-0123',
  'a replace-me': 'replace-me-with-a-long-random-string-please',
  'one character repeated': 's'.repeat(40),
  'a short chunk repeated': 'abc123'.repeat(8),
  'few distinct characters': `${'ab12ba21'.repeat(3)}a2b1a2b1b2a1`,
};

const production = (secret: string) =>
  authSettings(loadEnv({ AUTH_MODE: 'production', JWT_SECRET: secret, ALLOWED_ORIGINS: '*' }));

describe('secrets that everyone knows or anyone can guess', () => {
  it('stop a production gateway with a message naming JWT_SECRET', () => {
    for (const [name, secret] of Object.entries(weak))
      expect(() => production(secret), name).toThrow(/JWT_SECRET/);
    // Without AUTH_MODE a secret means production, as in the container images.
    expect(() => loadEnv({ JWT_SECRET: exampleSecret, ALLOWED_ORIGINS: '*' })).toThrow(/JWT_SECRET/);
  });

  it('stop the development token issuer and development gateways too: their tokens are valid there', () => {
    const weakDev = { ...weak, 'the .env.example value': exampleValue('DEV_JWT_SECRET') };
    for (const [name, secret] of Object.entries(weakDev)) {
      expect(() => loadDevTokenIssuerEnv({ DEV_JWT_SECRET: secret, ALLOWED_ORIGINS: '*' }), name).toThrow(
        /DEV_JWT_SECRET/,
      );
      expect(() => loadEnv({ AUTH_MODE: 'development', DEV_JWT_SECRET: secret }), name).toThrow(
        /DEV_JWT_SECRET/,
      );
    }
  });

  it('keep the development token issuer off the production key', () => {
    const key = randomBytes(32).toString('hex');
    expect(() =>
      loadDevTokenIssuerEnv({
        DEV_JWT_SECRET: key,
        JWT_SECRET: randomBytes(32).toString('hex'),
        ALLOWED_ORIGINS: '*',
      }),
    ).toThrow(/JWT_SECRET is set: the development token issuer never holds the production key/);
    expect(
      loadDevTokenIssuerEnv({ DEV_JWT_SECRET: key, JWT_SECRET: '', ALLOWED_ORIGINS: '*' }).DEV_JWT_SECRET,
    ).toBe(key);
  });

  it('leave random secrets alone', () => {
    for (const secret of [
      randomBytes(32).toString('hex'),
      randomBytes(16).toString('hex'),
      randomBytes(24).toString('base64url'),
    ]) {
      expect(production(secret).secret).toBe(secret);
      expect(loadDevTokenIssuerEnv({ DEV_JWT_SECRET: secret, ALLOWED_ORIGINS: '*' }).DEV_JWT_SECRET).toBe(
        secret,
      );
    }
  });

  it('hold METRICS_TOKEN to the same rule', () => {
    expect(() => loadEnv({ METRICS_TOKEN: 'change-me-metrics-token' })).toThrow(/METRICS_TOKEN/);
    expect(() => loadEnv({ METRICS_TOKEN: 'x'.repeat(20) })).toThrow(/METRICS_TOKEN/);
    const token = randomBytes(12).toString('hex');
    expect(loadEnv({ METRICS_TOKEN: token }).METRICS_TOKEN).toBe(token);
  });
});
