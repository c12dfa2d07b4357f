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
    });
    expect(
      authSettings(loadEnv({ AUTH_MODE: 'production', JWT_SECRET: 's'.repeat(32) })).allowedOrigins,
    ).toEqual([]);
  });
});
