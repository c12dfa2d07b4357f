import { describe, expect, it } from 'vitest';
import { authSettings, DEV_JWT_SECRET, isLoopback, loadEnv } from './env.ts';

const SECRET = '3f9c1a7e5b2d8064c1e9a7f35b0d2c48';
const settings = (env: Record<string, string>) => authSettings(loadEnv(env));

describe('authSettings', () => {
  it('is production when nothing asks for development, and then refuses to start without a secret', () => {
    expect(() => settings({})).toThrow(
      /production mode \(AUTH_MODE is not set; production is the default\).*JWT_SECRET.*AUTH_MODE=development/,
    );
  });

  it('is production without AUTH_MODE when JWT_SECRET is set or NODE_ENV=production', () => {
    const bySecret = settings({ JWT_SECRET: SECRET, ALLOWED_ORIGINS: 'https://orders.example' });
    expect(bySecret).toMatchObject({ mode: 'production', reason: 'AUTH_MODE is not set; JWT_SECRET is set' });
    expect(bySecret.host).toBe('0.0.0.0');
    expect(() => settings({ NODE_ENV: 'production' })).toThrow(
      /AUTH_MODE is not set; NODE_ENV=production.*JWT_SECRET/,
    );
  });

  it('development is explicit, public-secret, loopback by default and loopback only', () => {
    const dev = settings({ AUTH_MODE: 'development' });
    expect(dev).toMatchObject({ mode: 'development', secret: DEV_JWT_SECRET, host: '127.0.0.1' });
    expect(dev.allowedOrigins).toContain('http://127.0.0.1:5173');
    expect(settings({ AUTH_MODE: 'development', HOST: '::1' }).host).toBe('::1');
    expect(() => settings({ AUTH_MODE: 'development', HOST: '0.0.0.0' })).toThrow(
      /loopback only; HOST=0.0.0.0/,
    );
    expect(() => settings({ AUTH_MODE: 'development', HOST: '10.1.2.3' })).toThrow(/loopback/);
  });

  it('keeps the development and production keys apart: no gateway holds both', () => {
    const devKey = 'b7e2d94c0a1f63e85d2c7b90a4e16f38';
    // Development never signs with, nor accepts tokens of, the production key.
    expect(() => settings({ AUTH_MODE: 'development', JWT_SECRET: SECRET })).toThrow(
      /development .*refuses the production JWT_SECRET/,
    );
    // Production never holds the development key, so a demo token never verifies there.
    expect(() =>
      settings({ AUTH_MODE: 'production', JWT_SECRET: SECRET, DEV_JWT_SECRET: devKey, ALLOWED_ORIGINS: '*' }),
    ).toThrow(/never accepts development tokens.*DEV_JWT_SECRET/);
    expect(() => settings({ JWT_SECRET: SECRET, DEV_JWT_SECRET: devKey, ALLOWED_ORIGINS: '*' })).toThrow(
      /DEV_JWT_SECRET/,
    );
    // A development key of its own signs the demo, and lets a container bind beyond loopback.
    const demo = settings({ AUTH_MODE: 'development', DEV_JWT_SECRET: devKey, HOST: '0.0.0.0' });
    expect(demo).toMatchObject({ mode: 'development', secret: devKey, host: '0.0.0.0' });
    // Compose passes an unset variable as empty: that is unset, not a key.
    expect(settings({ AUTH_MODE: 'development', JWT_SECRET: '', DEV_JWT_SECRET: '' }).secret).toBe(
      DEV_JWT_SECRET,
    );
  });

  it('refuses production without a real secret or an origin list', () => {
    expect(() => settings({ AUTH_MODE: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => loadEnv({ AUTH_MODE: 'production', JWT_SECRET: 'short' })).toThrow(/32/);
    expect(() =>
      settings({ AUTH_MODE: 'production', JWT_SECRET: DEV_JWT_SECRET, ALLOWED_ORIGINS: '*' }),
    ).toThrow(/development secret/);
    expect(() => settings({ AUTH_MODE: 'production', JWT_SECRET: SECRET })).toThrow(/ALLOWED_ORIGINS/);
    expect(() => settings({ AUTH_MODE: 'production', JWT_SECRET: SECRET, ALLOWED_ORIGINS: ' , ' })).toThrow(
      /ALLOWED_ORIGINS/,
    );
  });

  it('reads the production secret, origin list and bind address', () => {
    expect(
      settings({
        AUTH_MODE: 'production',
        JWT_SECRET: SECRET,
        ALLOWED_ORIGINS: 'https://orders.example, https://admin.example',
        HOST: '10.0.0.5',
      }),
    ).toEqual({
      mode: 'production',
      reason: 'AUTH_MODE=production',
      secret: SECRET,
      allowedOrigins: ['https://orders.example', 'https://admin.example'],
      host: '10.0.0.5',
      leewayS: 30,
    });
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
      expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', '127.0.0.1.example', 'localhost.example'])
      expect(isLoopback(h), h).toBe(false);
  });

  it('passes clock leeway, audience and issuer to token verification in every mode', () => {
    const dev = settings({
      AUTH_MODE: 'development',
      JWT_LEEWAY_S: '5',
      JWT_AUDIENCE: 'orders',
      JWT_ISSUER: 'https://id.example',
    });
    expect(dev).toMatchObject({ leewayS: 5, audience: 'orders', issuer: 'https://id.example' });
    const prod = settings({
      AUTH_MODE: 'production',
      JWT_SECRET: SECRET,
      ALLOWED_ORIGINS: '*',
      JWT_LEEWAY_S: '0',
    });
    expect(prod.leewayS).toBe(0);
    expect(prod.audience).toBeUndefined();
    expect(() => loadEnv({ JWT_LEEWAY_S: '-1' })).toThrow(/JWT_LEEWAY_S/);
  });
});
