import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsSettings } from '../src/ops/metrics-settings.ts';
import { openRedisGate } from './support/redis-gate.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { until } from './support/wait.ts';

const TOKEN = 'metrics-token-for-the-ops-suite';

describe('operations endpoints', () => {
  let h: GatewayHarness;

  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('[P95][P96] health and readiness answer with a status and a word, nothing about the gateway', async () => {
    // The read loop's first read of the gateway's own stream is held at Redis until released:
    // until it is answered the backlog is not drained, so /readyz must say not ready.
    const gate = await openRedisGate(/XREADGROUP/i);
    try {
      const redis = await gate.client();
      const gw = await h.start('ops-probe', { redis });
      const base = `http://127.0.0.1:${gw.port}`;
      const health = await fetch(`${base}/healthz`);
      expect([health.status, await health.text()]).toEqual([200, 'ok']);
      await until(() => gate.held > 0, 'the backlog read to reach Redis');
      const early = await fetch(`${base}/readyz`);
      expect([early.status, await early.text()]).toEqual([503, 'not ready']);
      gate.release();
      await until(async () => (await fetch(`${base}/readyz`)).status === 200, 'the gateway to report ready');
      const ready = await fetch(`${base}/readyz`);
      expect([ready.status, await ready.text()]).toEqual([200, 'ready']);
      await gw.shutdown();
    } finally {
      await gate.close();
    }
  }, 60_000);

  it('[P99] refuses /metrics without the bearer token and serves it with it', async () => {
    const gw = await h.start('ops-token', { tuning: { metricsAccess: { mode: 'token', token: TOKEN } } });
    const url = `http://127.0.0.1:${gw.port}/metrics`;
    const bare = await fetch(url);
    expect(bare.status).toBe(401);
    expect(await bare.text()).not.toContain('gateway_');
    expect(
      (await fetch(url, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status,
    ).toBe(401);
    const authorized = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(authorized.status).toBe(200);
    expect(await authorized.text()).toContain('gateway_connections');
  });

  it('[P98] with a metrics port, serves /metrics there only', async () => {
    const settings = metricsSettings({ METRICS_PORT: 0, METRICS_HOST: '127.0.0.1' }, 'production');
    if (settings.listener === undefined) throw new Error('METRICS_PORT must give a listener');
    const gw = await h.start('ops-port', {
      metricsListener: settings.listener,
      tuning: { metricsAccess: settings.main },
    });
    expect(gw.metricsPort).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${gw.port}/metrics`)).status).toBe(404);
    const scraped = await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('gateway_connections');
    // The metrics listener serves nothing else.
    expect((await fetch(`http://127.0.0.1:${gw.metricsPort}/healthz`)).status).toBe(404);
  });

  it('decides metrics access securely from the environment', () => {
    const host = '127.0.0.1';
    expect(metricsSettings({ METRICS_HOST: host }, 'production')).toEqual({ main: { mode: 'off' } });
    expect(metricsSettings({ METRICS_HOST: host }, 'development')).toEqual({ main: { mode: 'open' } });
    expect(metricsSettings({ METRICS_HOST: host, METRICS_TOKEN: TOKEN }, 'production')).toEqual({
      main: { mode: 'token', token: TOKEN },
    });
    expect(
      metricsSettings({ METRICS_HOST: host, METRICS_PORT: 9100, METRICS_TOKEN: TOKEN }, 'production'),
    ).toEqual({
      main: { mode: 'off' },
      listener: { port: 9100, host, access: { mode: 'token', token: TOKEN } },
    });
  });
});
