import { describe, expect, it } from 'vitest';
import { loadEnv } from './env.ts';

describe('abuse-limit and metrics settings', () => {
  it('defaults to bounded caps, no trusted proxies and no metrics port', () => {
    const env = loadEnv({});
    expect(env).toMatchObject({
      MAX_CONNECTIONS_PER_IP: 256,
      MAX_CONNECTIONS_PER_PRINCIPAL: 64,
      MAX_STAFF_CONNECTIONS: 1024,
      TRUSTED_PROXIES: [],
      SNAPSHOT_CONCURRENCY: 4,
      SNAPSHOTS_PER_SOCKET: 2,
      REPLAY_MAX_ENTRIES: 50_000,
      METRICS_HOST: '127.0.0.1',
    });
    expect(env.METRICS_PORT).toBeUndefined();
    expect(env.METRICS_TOKEN).toBeUndefined();
  });

  it('reads a proxy list and refuses a short metrics token', () => {
    expect(loadEnv({ TRUSTED_PROXIES: ' 10.0.0.1, ,10.0.0.2 ' }).TRUSTED_PROXIES).toEqual([
      '10.0.0.1',
      '10.0.0.2',
    ]);
    expect(() => loadEnv({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(() => loadEnv({ MAX_CONNECTIONS_PER_IP: '0' })).toThrow(/MAX_CONNECTIONS_PER_IP/);
    expect(loadEnv({ MAX_STAFF_CONNECTIONS: '5000' }).MAX_STAFF_CONNECTIONS).toBe(5000);
    expect(loadEnv({ REPLAY_MAX_ENTRIES: '200000' }).REPLAY_MAX_ENTRIES).toBe(200_000);
    expect(() => loadEnv({ REPLAY_MAX_ENTRIES: '0' })).toThrow(/REPLAY_MAX_ENTRIES/);
  });
});
