import type { Hono } from 'hono';
import { cors } from 'hono/cors';
import { devPrincipal, mintToken } from './dev-token.ts';

/**
 * `GET /dev/token?role=staff|customer&customer=…` → `{"token": "…"}`. Mounted only in
 * development mode; production has no such route (404). CORS lets the page, served from
 * another port, fetch it.
 */
export function devTokenRoutes(secret: string, allowedOrigins: readonly string[]) {
  return (app: Hono): void => {
    const any = allowedOrigins.includes('*');
    app.use(
      '/dev/token',
      cors({ origin: (origin) => (any || allowedOrigins.includes(origin) ? origin : null) }),
    );
    app.get('/dev/token', async (c) => {
      const principal = devPrincipal(new URL(c.req.url).searchParams);
      if (typeof principal === 'string') return c.json({ error: principal }, 400);
      return c.json({ token: await mintToken(secret, principal), ...principal });
    });
  };
}
