import { describe, expect, it } from 'vitest';
import { authSettings, DEV_JWT_SECRET, loadEnv } from './env.ts';

describe('authSettings', () => {
  it('defaults to development with the public secret and the page origins', () => {
    const auth = authSettings(loadEnv({}));
    expect(auth).toMatchObject({ mode: 'development', secret: DEV_JWT_SECRET });
    expect(auth.allowedOrigins).toContain('http://127.0.0.1:5173');
  });

  it('refuses to start production without a real secret', () => {
    expect(() => authSettings(loadEnv({ AUTH_MODE: 'production' }))).toThrow(/JWT_SECRET/);
    expect(() => loadEnv({ AUTH_MODE: 'production', JWT_SECRET: 'short' })).toThrow(/32/);
    expect(() => authSettings(loadEnv({ AUTH_MODE: 'production', JWT_SECRET: DEV_JWT_SECRET }))).toThrow();
  });

  it('reads the production secret and origin list', () => {
    const auth = authSettings(
      loadEnv({
        AUTH_MODE: 'production',
        JWT_SECRET: 's'.repeat(32),
        ALLOWED_ORIGINS: 'https://orders.example, https://admin.example',
      }),
    );
    expect(auth).toEqual({
      mode: 'production',
      secret: 's'.repeat(32),
      allowedOrigins: ['https://orders.example', 'https://admin.example'],
      leewayS: 30,
    });
    expect(
      authSettings(loadEnv({ AUTH_MODE: 'production', JWT_SECRET: 's'.repeat(32) })).allowedOrigins,
    ).toEqual([]);
  });

  it('passes clock leeway, audience and issuer to token verification in every mode', () => {
    const dev = authSettings(
      loadEnv({ JWT_LEEWAY_S: '5', JWT_AUDIENCE: 'orders', JWT_ISSUER: 'https://id.example' }),
    );
    expect(dev).toMatchObject({ leewayS: 5, audience: 'orders', issuer: 'https://id.example' });
    const prod = authSettings(
      loadEnv({ AUTH_MODE: 'production', JWT_SECRET: 's'.repeat(32), JWT_LEEWAY_S: '0' }),
    );
    expect(prod.leewayS).toBe(0);
    expect(prod.audience).toBeUndefined();
    expect(() => loadEnv({ JWT_LEEWAY_S: '-1' })).toThrow(/JWT_LEEWAY_S/);
  });
});
