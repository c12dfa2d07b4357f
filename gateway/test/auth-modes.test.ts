import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { newNamespace } from '@orders/drizzle/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { mintToken } from '../src/auth/index.ts';
import { DEV_JWT_SECRET } from '../src/env.ts';
import { type GatewayProcess, spawnGateway } from './support/gateway-process.ts';
import { connectRedis, dropNamespace } from './support/services.ts';
import { tryUpgrade } from './support/upgrade.ts';

const gatewayRoot = fileURLToPath(new URL('..', import.meta.url));

/** Runs main.ts and collects its output until it exits (or the timeout kills it). */
function runMain(env: Record<string, string>, timeoutMs = 20_000) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: gatewayRoot,
      env: { PATH: process.env.PATH, PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('auth modes of the real gateway process', () => {
  const ns = `gwm${newNamespace()}`;
  let prod: GatewayProcess | undefined;

  afterAll(async () => {
    await prod?.kill('SIGTERM');
    const redis = await connectRedis();
    await dropNamespace(redis, ns);
    await redis.close();
  });

  it('production refuses to start without a real secret', async () => {
    const missing = await runMain({ AUTH_MODE: 'production', REDIS_NS: ns });
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain('JWT_SECRET');
    const short = await runMain({ AUTH_MODE: 'production', JWT_SECRET: 'too-short', REDIS_NS: ns });
    expect(short.code).not.toBe(0);
    expect(short.output).toContain('32');
    const dev = await runMain({ AUTH_MODE: 'production', JWT_SECRET: DEV_JWT_SECRET, REDIS_NS: ns });
    expect(dev.code).not.toBe(0);
  });

  it('production never mints and refuses development tokens', async () => {
    const secret = 'a-production-secret-of-at-least-32-chars';
    prod = await spawnGateway('auth-prod-proc', {
      AUTH_MODE: 'production',
      JWT_SECRET: secret,
      ALLOWED_ORIGINS: 'https://orders.example',
      REDIS_NS: ns,
    });
    const base = `http://127.0.0.1:${prod.port}`;
    expect((await fetch(`${base}/dev/token`)).status).toBe(404);
    const devToken = await mintToken(DEV_JWT_SECRET, { role: 'staff' });
    expect((await tryUpgrade(`${prod.url}?token=${devToken}`)).status).toBe(401);
    const real = await mintToken(secret, { role: 'staff' });
    expect((await tryUpgrade(`${prod.url}?token=${real}`, { origin: 'http://127.0.0.1:5173' })).status).toBe(
      403,
    );
    const opened = await tryUpgrade(`${prod.url}?token=${real}`, { origin: 'https://orders.example' });
    expect(opened.status).toBe(101);
    if ('ws' in opened) opened.ws.close();
  });
});
