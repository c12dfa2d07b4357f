import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { devTokenRoutes } from './dev-token-route.ts';

const SECRET = '9b1e4f7a2c5d8e0f3a6b9c2d5e8f1a4b';
const PAGE = 'http://127.0.0.1:5173';

function app(allowedOrigins: readonly string[]) {
  const a = new Hono();
  devTokenRoutes(SECRET, allowedOrigins)(a);
  return a;
}

/** GET /dev/token as a browser or a script sends it: the Host it dialled, maybe an Origin. */
const get = (a: Hono, host: string, origin?: string) =>
  a.request(`http://${host}/dev/token?role=staff`, {
    headers: { host, ...(origin === undefined ? {} : { origin }) },
  });

describe('GET /dev/token', () => {
  it('[P64] answers 403 to a Host that is not this machine: a page rebinding its name to 127.0.0.1', async () => {
    const a = app([PAGE]);
    for (const host of [
      'evil.example:8080',
      'evil.example',
      '127.0.0.1.evil.example:8080',
      'localhost.evil.example',
    ]) {
      const response = await get(a, host);
      expect(response.status, host).toBe(403);
      expect(await response.text(), host).not.toContain('token":"');
    }
  });

  it('serves loopback hosts, and the hosts of the listed page origins', async () => {
    const a = app([PAGE, 'http://orders-box.lan:3000']);
    for (const host of [
      '127.0.0.1:8080',
      'localhost:8090',
      '[::1]:8080',
      '127.0.0.1',
      'LOCALHOST:8080',
      'orders-box.lan:8090',
    ])
      expect((await get(a, host)).status, host).toBe(200);
  });

  it('[P64] answers 403 to an Origin that is not listed literally, even when ALLOWED_ORIGINS is *', async () => {
    for (const allowed of [[PAGE], ['*'], ['*', PAGE]]) {
      const a = app(allowed);
      for (const origin of ['https://evil.example', 'null', `${PAGE}.evil.example`])
        expect((await get(a, '127.0.0.1:8080', origin)).status, `${allowed} ${origin}`).toBe(403);
    }
    const listed = await get(app(['*', PAGE]), '127.0.0.1:8080', PAGE);
    expect(listed.status).toBe(200);
    expect(listed.headers.get('access-control-allow-origin')).toBe(PAGE);
  });

  it('serves scripts, which send no Origin, on a loopback Host', async () => {
    const response = await get(app([PAGE]), '127.0.0.1:8080');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ role: 'staff' });
  });
});
