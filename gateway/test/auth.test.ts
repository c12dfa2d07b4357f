import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorize, devTokenRoutes, mintToken } from '../src/auth/index.ts';
import type { RunningGateway } from '../src/node-server.ts';
import { badTokens } from './support/bad-tokens.ts';
import { createFakeWorker } from './support/fake-worker.ts';
import { is, openRaw } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { tryUpgrade, type UpgradeOutcome } from './support/upgrade.ts';
import { until } from './support/wait.ts';

const secret = 'auth-suite-secret-of-forty-characters-long';
const allowedOrigin = 'https://orders.example';

describe('authentication and origin checks before the upgrade', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  let prod: RunningGateway;

  beforeAll(async () => {
    h = await createHarness();
    const authorize = createAuthorize({ secret, allowedOrigins: [allowedOrigin] });
    gw = await h.start('auth-dev', {
      authorize,
      tuning: { routes: devTokenRoutes(secret, [allowedOrigin]), maxConnections: 5 },
    });
    prod = await h.start('auth-prod', { authorize });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('[P2][P49] refuses every bad token with 401, by query and by header, and opens no socket', async () => {
    const cases = { ...(await badTokens(secret)), 'missing token': '' };
    for (const [name, token] of Object.entries(cases)) {
      const byQuery = await tryUpgrade(
        token === '' ? gw.url : `${gw.url}?token=${encodeURIComponent(token)}`,
      );
      expect(byQuery.status, `${name} (query)`).toBe(401);
      const byHeader = await tryUpgrade(gw.url, token === '' ? {} : { authorization: `Bearer ${token}` });
      expect(byHeader.status, `${name} (header)`).toBe(401);
    }
    expect((await tryUpgrade(gw.url, { authorization: 'Basic dXNlcjpwYXNz' })).status).toBe(401);
    expect(gw.hub.connections.size).toBe(0);
  });

  it('[P3] answers a refused upgrade with a JSON error body, and a 401 with WWW-Authenticate', async () => {
    const missing = await tryUpgrade(gw.url);
    if ('ws' in missing) throw new Error('opened without a token');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer\b/);
    expect(missing.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(missing.body)).toEqual({ error: expect.any(String) });
    const foreign = await tryUpgrade(gw.url, { origin: 'https://evil.example' });
    if ('ws' in foreign) throw new Error('opened for a foreign origin');
    expect(foreign.status).toBe(403);
    expect(foreign.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(foreign.body)).toEqual({ error: expect.any(String) });
  });

  it('admits good tokens by query and by Bearer header', async () => {
    const token = await mintToken(secret, { role: 'staff' });
    const a = await tryUpgrade(`${gw.url}?token=${token}`);
    const b = await tryUpgrade(gw.url, { authorization: `Bearer ${token}` });
    expect([a.status, b.status]).toEqual([101, 101]);
    for (const o of [a, b]) if ('ws' in o) o.ws.close();
  });

  it('[P52] refuses a foreign Origin with 403 and admits the allowed one and clients without Origin', async () => {
    const token = await mintToken(secret, { role: 'staff' });
    const url = `${gw.url}?token=${token}`;
    expect((await tryUpgrade(url, { origin: 'https://evil.example' })).status).toBe(403);
    // The origin check runs first: a foreign page learns nothing about its token.
    expect((await tryUpgrade(gw.url, { origin: 'https://evil.example' })).status).toBe(403);
    const allowed = await tryUpgrade(url, { origin: allowedOrigin });
    const noOrigin = await tryUpgrade(url);
    expect([allowed.status, noOrigin.status]).toEqual([101, 101]);
    for (const o of [allowed, noOrigin]) if ('ws' in o) o.ws.close();
  });

  it('mints demo tokens in development only', async () => {
    const base = `http://127.0.0.1:${gw.port}`;
    const res = await fetch(`${base}/dev/token?role=customer&customer=Alice`, {
      headers: { origin: allowedOrigin },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
    const { token } = (await res.json()) as { token: string };
    const opened = await tryUpgrade(`${gw.url}?token=${token}`);
    expect(opened.status).toBe(101);
    if ('ws' in opened) opened.ws.close();
    expect((await fetch(`${base}/dev/token?role=root`)).status).toBe(400);
    expect((await fetch(`${base}/dev/token?role=customer`)).status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${prod.port}/dev/token`)).status).toBe(404);
  });

  it('[P41][P53] refuses a customer subscribing to another customer with forbidden, and sends no data', async () => {
    const worker = createFakeWorker(h.redis, h.keys, h.db.sql);
    await worker.insert('Alice');
    await worker.insert('Bob');
    const token = await mintToken(secret, { role: 'customer', customer: 'Alice' });
    const s = await openRaw(`${prod.url}?token=${token}`);
    await s.next(is('welcome'));
    s.send({ type: 'subscribe', sub: 'spy', filter: { customer: 'Bob' } });
    expect(await s.next(is('error', 'spy'))).toMatchObject({ code: 'forbidden', sub: 'spy' });
    s.send({ type: 'subscribe', sub: 'mine', filter: { customer: 'Alice' } });
    const snapshot = await s.next(is('snapshot', 'mine'));
    expect(snapshot.rows.map((r) => r.customerName)).toEqual(['Alice']);
    s.send({ type: 'subscribe', sub: 'all' });
    const all = await s.next(is('snapshot', 'all'));
    expect(all.rows.map((r) => r.customerName)).toEqual(['Alice']);
    expect(s.frames.some((f) => f.type === 'snapshot' && f.sub === 'spy')).toBe(false);
    s.close();
  });

  it('[P75] refuses upgrades beyond the connection limit with 503', async () => {
    await until(() => gw.hub.connections.size === 0, 'earlier sockets to close');
    const token = await mintToken(secret, { role: 'staff' });
    const open: UpgradeOutcome[] = [];
    for (let i = 0; i < 5; i++) open.push(await tryUpgrade(`${gw.url}?token=${token}`));
    expect(open.map((o) => o.status)).toEqual([101, 101, 101, 101, 101]);
    await until(() => gw.hub.connections.size === 5, 'five sockets');
    expect((await tryUpgrade(`${gw.url}?token=${token}`)).status).toBe(503);
    for (const o of open) if ('ws' in o) o.ws.close();
    await until(() => gw.hub.connections.size === 0, 'sockets to close');
    const again = await tryUpgrade(`${gw.url}?token=${token}`);
    expect(again.status).toBe(101);
    if ('ws' in again) again.ws.close();
  });
});
