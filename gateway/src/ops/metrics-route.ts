import type { Hono } from 'hono';
import type { Metrics } from '../metrics.ts';

/**
 * Who may read `/metrics` on a given listener. Metrics name gateways, count clients and
 * show load, which is reconnaissance for an attacker, so only `open` serves them to anyone.
 */
export type MetricsAccess = { mode: 'open' } | { mode: 'token'; token: string } | { mode: 'off' };

/** Mounts `/metrics` on `app` as `access` allows; `off` mounts nothing, so the path is a 404. */
export function mountMetrics(app: Hono, metrics: Metrics, access: MetricsAccess): void {
  if (access.mode === 'off') return;
  app.get('/metrics', async (c) => {
    if (access.mode === 'token' && !bearerMatches(c.req.header('authorization'), access.token)) {
      return c.text('unauthorized', 401, { 'www-authenticate': 'Bearer realm="metrics"' });
    }
    const body = await metrics.registry.metrics();
    return c.text(body, 200, { 'content-type': metrics.registry.contentType });
  });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] !== undefined && constantTimeEqual(match[1], token);
}

/** Compares without an early exit, so response time does not reveal how much of a guess was right. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a.charCodeAt(i % Math.max(a.length, 1)) || 0) ^ b.charCodeAt(i);
  return diff === 0;
}
