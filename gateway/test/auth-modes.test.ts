import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type GatewayProcess, newNamespace, spawnGateway } from '@orders/test-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { mintToken } from '../src/auth/index.ts';
import { DEV_JWT_SECRET } from '../src/env.ts';
import { connectRedis, dropNamespace } from './support/services.ts';
import { tryUpgrade } from './support/upgrade.ts';

const SECRET = 'a-production-secret-of-at-least-32-chars';
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

/** GET on 127.0.0.1:port with the Host header a browser would send for `host` (fetch cannot). */
function statusWithHost(port: number, path: string, host: string) {
  return new Promise<number | undefined>((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once('error', reject);
  });
}

describe('auth modes of the real gateway process', () => {
  const ns = `gwm${newNamespace()}`;
  let prod: GatewayProcess | undefined;
  let deployed: GatewayProcess | undefined;
  let devGateway: GatewayProcess | undefined;

  afterAll(async () => {
    await Promise.all([prod, deployed, devGateway].map((g) => g?.kill('SIGTERM')));
    const redis = await connectRedis();
    await dropNamespace(redis, ns);
    await redis.close();
  });

  it('[P62] production refuses to start without a real secret or origins, and says why', async () => {
    const missing = await runMain({ AUTH_MODE: 'production', REDIS_NS: ns });
    // Exit code 1 (not a kill by the timeout, which gives null) and the reason in the log.
    expect(missing.code, missing.output).toBe(1);
    expect(missing.output).toContain('requires JWT_SECRET');
    const short = await runMain({ AUTH_MODE: 'production', JWT_SECRET: 'too-short', REDIS_NS: ns });
    expect(short.code, short.output).toBe(1);
    expect(short.output).toContain('JWT_SECRET must be at least 32 characters');
    const dev = await runMain({ AUTH_MODE: 'production', JWT_SECRET: DEV_JWT_SECRET, REDIS_NS: ns });
    expect(dev.code, dev.output).toBe(1);
    expect(dev.output).toContain('cannot use the development secret');
    // What a production image runs (NODE_ENV=production) with a secret but no origin list.
    const noOrigins = await runMain({ NODE_ENV: 'production', JWT_SECRET: SECRET, REDIS_NS: ns });
    expect(noOrigins.code, noOrigins.output).toBe(1);
    expect(noOrigins.output).toContain('requires ALLOWED_ORIGINS');
    // Nothing set at all is production too: minting is never a default.
    const bare = await runMain({ REDIS_NS: ns });
    expect(bare.code, bare.output).toBe(1);
    expect(bare.output).toContain('production mode (AUTH_MODE is not set; production is the default)');
  });

  it('refuses the secrets .env.example ships, naming the variable', async () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const secret = /^(?:# )?JWT_SECRET=(.*)$/m.exec(example)?.[1];
    expect(secret).toBeDefined();
    // Production with an unedited .env: no AUTH_MODE, every origin allowed.
    const shipped = await runMain({ JWT_SECRET: secret ?? '', ALLOWED_ORIGINS: '*', REDIS_NS: ns });
    expect(shipped.code, shipped.output).toBe(1);
    expect(shipped.output).toMatch(/JWT_SECRET .*placeholder/);
    // The compose demo with an unedited .env.
    const devKey = /^DEV_JWT_SECRET=(.*)$/m.exec(example)?.[1];
    expect(devKey).toBeDefined();
    const demo = await runMain({ AUTH_MODE: 'development', HOST: '0.0.0.0', DEV_JWT_SECRET: devKey ?? '' });
    expect(demo.code, demo.output).toBe(1);
    expect(demo.output).toMatch(/DEV_JWT_SECRET .*placeholder/);
  });

  it('never holds the development and the production key at once', async () => {
    const dev = await runMain({ AUTH_MODE: 'development', JWT_SECRET: SECRET, REDIS_NS: ns });
    expect(dev.code, dev.output).toBe(1);
    expect(dev.output).toContain('refuses the production JWT_SECRET');
    const prodWithDevKey = await runMain({
      AUTH_MODE: 'production',
      JWT_SECRET: SECRET,
      DEV_JWT_SECRET: '5d0c9e2a7b4f18e3c6a0d9b2f7e41c85',
      ALLOWED_ORIGINS: '*',
      REDIS_NS: ns,
    });
    expect(prodWithDevKey.code, prodWithDevKey.output).toBe(1);
    expect(prodWithDevKey.output).toContain('never accepts development tokens');
  });

  it('[P63] development mode refuses to listen beyond loopback', async () => {
    // The wildcards, and one address of this or any other machine that is not loopback.
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      const open = await runMain({ AUTH_MODE: 'development', HOST: host, REDIS_NS: ns });
      expect(open.code, open.output).toBe(1);
      expect(open.output).toContain(`binds to loopback only; HOST=${host} is not`);
    }
  });

  it('NODE_ENV=production with JWT_SECRET and no AUTH_MODE is production: no token endpoint', async () => {
    deployed = await spawnGateway('auth-node-env-proc', {
      AUTH_MODE: undefined,
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      ALLOWED_ORIGINS: 'https://orders.example',
      REDIS_NS: ns,
    });
    const response = await fetch(`http://127.0.0.1:${deployed.port}/dev/token?role=staff`);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('token');
    const staff = await mintToken(SECRET, { role: 'staff' });
    const opened = await tryUpgrade(`${deployed.url}?token=${staff}`);
    expect(opened.status).toBe(101);
    if ('ws' in opened) opened.ws.close();
    const log = readFileSync(
      fileURLToPath(new URL('./logs/auth-node-env-proc.log', import.meta.url)),
      'utf8',
    );
    expect(log).toContain(
      'auth mode production (AUTH_MODE is not set; JWT_SECRET is set, NODE_ENV=production)',
    );
  });

  it('development mode says so at start and mints on loopback', async () => {
    devGateway = await spawnGateway('auth-dev-proc', { REDIS_NS: ns });
    const response = await fetch(`http://127.0.0.1:${devGateway.port}/dev/token?role=staff`);
    expect(response.status).toBe(200);
    // A page that rebound its own name to 127.0.0.1 reaches the same socket, under its name.
    expect(await statusWithHost(devGateway.port, '/dev/token?role=staff', 'rebound.example')).toBe(403);
    const log = readFileSync(fileURLToPath(new URL('./logs/auth-dev-proc.log', import.meta.url)), 'utf8');
    expect(log).toContain('auth mode development (AUTH_MODE=development)');
  });

  it('[P62] production never mints and refuses development tokens', async () => {
    const secret = SECRET;
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
