import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { createAuthorize, mintToken } from '../src/auth/index.ts';
import { ConnectionCaps } from '../src/limits/connection-caps.ts';
import type { RunningGateway } from '../src/node-server.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { tryUpgrade } from './support/upgrade.ts';
import { until } from './support/wait.ts';

const SECRET = 'connection-caps-test-secret-0123456789';

/** Raw upgrade: returns status and headers, so the 429's Retry-After can be checked. */
async function refusal(url: string, headers: Record<string, string>) {
  const { request } = await import('node:http');
  const target = new URL(url.replace('ws:', 'http:'));
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(target, {
        headers: {
          ...headers,
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.once('upgrade', (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
      });
      req.once('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += String(chunk);
        });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.once('error', reject);
      req.end();
    },
  );
}

describe('connection caps per client address and principal', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  let caps: ConnectionCaps;
  const open: WebSocket[] = [];

  beforeAll(async () => {
    h = await createHarness();
    caps = new ConnectionCaps({ perAddress: 3, perPrincipal: 2 });
    gw = await h.start('caps-a', {
      authorize: createAuthorize({ secret: SECRET, allowedOrigins: [] }),
      tuning: { caps, trustedProxies: new Set(['127.0.0.1']) },
    });
  });
  afterAll(async () => {
    for (const ws of open) ws.terminate();
    await h?.close();
  });

  const connect = async (ip: string, token: string) => {
    const outcome = await tryUpgrade(`${gw.url}?token=${token}`, { 'x-forwarded-for': ip });
    if ('ws' in outcome) open.push(outcome.ws);
    return outcome;
  };

  it('[P76] answers 429 with Retry-After before the upgrade once an address has its share, and a close frees a slot', async () => {
    const staff = await mintToken(SECRET, { role: 'staff' });
    const tokens = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) => mintToken(SECRET, { role: 'customer', customer: name })),
    );
    for (const token of tokens.slice(0, 3)) expect((await connect('198.51.100.1', token)).status).toBe(101);
    const refused = await refusal(`${gw.url}?token=${tokens[3]}`, { 'x-forwarded-for': '198.51.100.1' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toContain('address');
    // Another address is unaffected; with no trusted proxy in front, the header would not count.
    expect((await connect('198.51.100.2', staff)).status).toBe(101);

    const first = open[0];
    if (first === undefined) throw new Error('no socket');
    first.close();
    await until(() => caps.countFor('198.51.100.1') === 2, 'the closed socket to free its slot');
    expect((await connect('198.51.100.1', tokens[3] ?? '')).status).toBe(101);
  });

  it('[P77] caps one principal across addresses', async () => {
    const token = await mintToken(SECRET, { role: 'customer', customer: 'mallory' });
    expect((await connect('203.0.113.1', token)).status).toBe(101);
    expect((await connect('203.0.113.2', token)).status).toBe(101);
    const refused = await refusal(`${gw.url}?token=${token}`, { 'x-forwarded-for': '203.0.113.3' });
    expect(refused.status).toBe(429);
    expect(refused.body).toContain('principal');
    expect(refused.headers['retry-after']).toBeDefined();
  });

  it('counts staff per token subject: one busy member of staff locks no one else out', async () => {
    const ann = await mintToken(SECRET, { role: 'staff', sub: 'ann' });
    const ben = await mintToken(SECRET, { role: 'staff', sub: 'ben' });
    expect((await connect('203.0.113.11', ann)).status).toBe(101);
    expect((await connect('203.0.113.12', ann)).status).toBe(101);
    const refused = await refusal(`${gw.url}?token=${ann}`, { 'x-forwarded-for': '203.0.113.13' });
    expect(refused.status).toBe(429);
    expect(refused.body).toContain('principal');
    expect((await connect('203.0.113.14', ben)).status).toBe(101);
  });

  it('[P85] counts an IPv6 client per /64 and a forwarded address without its port', async () => {
    const customers = await Promise.all(
      ['v1', 'v2', 'v3', 'v4', 'p1', 'p2', 'p3', 'p4'].map((name) =>
        mintToken(SECRET, { role: 'customer', customer: name }),
      ),
    );
    const token = (i: number) => customers[i] ?? '';
    const v6 = ['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6:ffff::3'];
    for (const [i, ip] of v6.entries()) expect((await connect(ip, token(i))).status, ip).toBe(101);
    const sameBlock = await refusal(`${gw.url}?token=${token(3)}`, { 'x-forwarded-for': '2001:db8:5:6::99' });
    expect(sameBlock.status).toBe(429);
    expect(sameBlock.body).toContain('address');
    expect((await connect('2001:db8:5:7::1', token(3))).status).toBe(101);

    for (const port of [40001, 40002, 40003])
      expect((await connect(`198.51.100.30:${port}`, token(port - 39997))).status).toBe(101);
    const samePeer = await refusal(`${gw.url}?token=${token(7)}`, {
      'x-forwarded-for': '198.51.100.30:40004',
    });
    expect(samePeer.status).toBe(429);
  });

  it('[P88] ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const direct = await h.start('caps-b', { tuning: { caps: new ConnectionCaps({ perAddress: 1 }) } });
    const first = await tryUpgrade(direct.url, { 'x-forwarded-for': '192.0.2.1' });
    if ('ws' in first) open.push(first.ws);
    expect(first.status).toBe(101);
    // A different forged address does not help: the peer (127.0.0.1) is what counts.
    expect((await tryUpgrade(direct.url, { 'x-forwarded-for': '192.0.2.2' })).status).toBe(429);
  });
});

describe('MAX_CONNECTIONS counts upgrades still waiting on authentication', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  const open: WebSocket[] = [];
  /** Upgrades the authorize hook holds: resolving one lets its verdict through. */
  const waiting: Array<(verdict: Response | undefined) => void> = [];
  let asked = 0;

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('caps-pending', {
      authorize: {
        upgrade: () => {
          asked += 1;
          return new Promise<Response | undefined>((resolve) => waiting.push(resolve));
        },
        token: async () => 'not used',
      },
      tuning: { maxConnections: 2 },
    });
  });
  afterAll(async () => {
    for (const admit of waiting.splice(0)) admit(new Response('done', { status: 401 }));
    for (const ws of open) ws.terminate();
    await h?.close();
  });

  const attempt = () =>
    tryUpgrade(gw.url).then((outcome) => {
      if ('ws' in outcome) open.push(outcome.ws);
      return outcome;
    });

  it('[P87] answers 503 while the slots are held by upgrades in authentication, and frees a refused one', async () => {
    const first = attempt();
    const second = attempt();
    await until(() => waiting.length === 2, 'both upgrades to wait on authentication');
    // Nothing is open yet, but both slots are taken: the third is refused before it is authenticated.
    const third = await Promise.race([
      attempt(),
      new Promise<{ status: string }>((resolve) =>
        setTimeout(() => resolve({ status: 'waiting on authentication' }), 5000),
      ),
    ]);
    expect(third.status).toBe(503);
    expect(asked).toBe(2);

    // A refusal gives its slot back at once; an admission holds it as an open socket.
    waiting.shift()?.(new Response('no', { status: 401 }));
    expect((await first).status).toBe(401);
    const fourth = attempt();
    await until(() => waiting.length === 2, 'the freed slot to admit another upgrade to authentication');
    for (const admit of waiting.splice(0)) admit(undefined);
    expect([(await second).status, (await fourth).status]).toEqual([101, 101]);
    expect(gw.hub.connections.size).toBe(2);
    expect((await attempt()).status).toBe(503);
    expect(asked).toBe(3);
  });
});

describe('an upgrade that never opens', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  const open: WebSocket[] = [];
  const waiting: Array<(verdict: Response | undefined) => void> = [];

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('caps-abandoned', {
      authorize: {
        upgrade: () => new Promise<Response | undefined>((resolve) => waiting.push(resolve)),
        token: async () => 'not used',
      },
      tuning: { maxConnections: 1 },
    });
  });
  afterAll(async () => {
    for (const admit of waiting.splice(0)) admit(new Response('done', { status: 401 }));
    for (const ws of open) ws.terminate();
    await h?.close();
  });

  it('[P86] gives its slot back after a while when its socket never opens', async () => {
    // A handshake the WebSocket layer refuses once authentication let it through (its key is
    // malformed), as one whose client vanished mid-handshake: no socket ever opens for it.
    const { port } = new URL(gw.url);
    const raw = connect(Number(port), '127.0.0.1');
    raw.on('error', () => {});
    raw.write(
      [
        'GET /ws HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: not-a-key',
        '',
        '',
      ].join('\r\n'),
    );
    await until(() => waiting.length === 1, 'the upgrade to wait on authentication');
    waiting.shift()?.(undefined);
    // Its slot is still held: the next upgrade is refused before authentication.
    const refused = await tryUpgrade(gw.url);
    expect(refused.status).toBe(503);
    expect(gw.hub.connections.size).toBe(0);
    raw.destroy();

    // The slot comes back (at the latest after the 10 s the gateway gives a handshake): an
    // upgrade tried later reaches authentication instead of 503, and opens.
    const attemptOnce = async (): Promise<boolean> => {
      const next = tryUpgrade(gw.url);
      const reachedAuth = until(() => waiting.length > 0, 'authentication', 5_000).then(
        () => true,
        () => false,
      );
      const first = await Promise.race([next.then(() => false), reachedAuth]);
      if (first) for (const admit of waiting.splice(0)) admit(undefined);
      const outcome = await next;
      if (!('ws' in outcome)) return false;
      open.push(outcome.ws);
      return true;
    };
    await until(attemptOnce, 'a later upgrade to get the slot back', 30_000);
    expect(gw.hub.connections.size).toBe(1);
  }, 60_000);
});
