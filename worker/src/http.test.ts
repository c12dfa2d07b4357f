import { describe, expect, it } from 'vitest';
import { createHttpApp } from './http.ts';
import { createMetrics } from './metrics.ts';

describe('createHttpApp', () => {
  it('reports liveness, readiness and metrics', async () => {
    let ready = false;
    const metrics = createMetrics({ processMetrics: false });
    metrics.forwarded.inc({ topic: 't' }, 3);
    const app = createHttpApp({ registry: metrics.registry, isReady: () => ready });

    expect((await app.request('/healthz')).status).toBe(200);
    expect((await app.request('/readyz')).status).toBe(503);
    ready = true;
    expect((await app.request('/readyz')).status).toBe(200);

    const body = await (await app.request('/metrics')).text();
    expect(body).toContain('worker_changes_forwarded_total{topic="t"} 3');
  });
});
