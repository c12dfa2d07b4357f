/**
 * The worker's small HTTP surface (a plain Hono app; only main.ts binds it to a port):
 * liveness, readiness for the orchestrator, Prometheus metrics.
 */
import { Hono } from 'hono';
import type { Registry } from 'prom-client';

export interface HttpDeps {
  registry: Registry;
  /** Consumer in the group and Redis connected. */
  isReady: () => boolean;
}

export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) =>
    deps.isReady() ? c.json({ status: 'ready' }) : c.json({ status: 'starting' }, 503),
  );
  app.get('/metrics', async (c) => {
    const body = await deps.registry.metrics();
    return c.text(body, 200, { 'content-type': deps.registry.contentType });
  });
  return app;
}
