import type { Hono } from 'hono';
import { cors } from 'hono/cors';
import { devPrincipal, mintToken } from './dev-token.ts';
import { hostGuard, originGuard } from './dev-token-guards.ts';

/**
 * `GET /dev/token?role=staff|customer&customer=…` → `{"token": "…"}`. Mounted only in
 * development mode (and by the development token issuer); production has no such route (404).
 * It answers 403 to a `Host` that is not loopback or a listed page's host, and to an `Origin`
 * not listed literally; CORS lets the listed page, served from another port, read the answer.
 */
export function devTokenRoutes(secret: string, allowedOrigins: readonly string[]) {
  return (app: Hono): void => {
    const listed = allowedOrigins.filter((o) => o !== '*');
    app.use('/dev/token', hostGuard(allowedOrigins), originGuard(allowedOrigins));
    app.use('/dev/token', cors({ origin: (origin) => (listed.includes(origin) ? origin : null) }));
    app.get('/dev/token', async (c) => {
      const principal = devPrincipal(new URL(c.req.url).searchParams);
      if (typeof principal === 'string') return c.json({ error: principal }, 400);
      return c.json({ token: await mintToken(secret, principal), ...principal });
    });
  };
}
