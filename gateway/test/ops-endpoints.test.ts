import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsSettings } from '../src/ops/metrics-settings.ts';
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

  it('health and readiness answer with a status and a word, nothing about the gateway', async () => {
    const gw = await h.start('ops-probe');
    const base = `http://127.0.0.1:${gw.port}`;
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok']);
    // Not ready says only that, until the read loop has drained the stream's backlog.
    await until(
      async () => {
        const ready = await fetch(`${base}/readyz`);
        const answer = [ready.status, await ready.text()];
        if (answer[0] !== 200) expect(answer).toEqual([503, 'not ready']);
        return answer[0] === 200;
      },
      'the gateway to report ready',
      15_000,
    );
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready']);
  });

  it('refuses /metrics without the bearer token and serves it with it', async () => {
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

  it('with a metrics port, serves /metrics there only', async () => {
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
