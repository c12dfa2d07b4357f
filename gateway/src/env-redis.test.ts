import { redisTarget } from '@orders/redis';
import { describe, expect, it } from 'vitest';
import { loadEnv } from './env.ts';

describe('the gateway’s Redis selection (same rules as the worker’s)', () => {
  it('uses REDIS_URL by default and a cluster when REDIS_CLUSTER is set', () => {
    expect(redisTarget(loadEnv({}))).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    expect(redisTarget(loadEnv({ REDIS_CLUSTER: 'redis://a:7001,redis://b:7002' }))).toEqual({
      kind: 'cluster',
      seeds: ['redis://a:7001', 'redis://b:7002'],
    });
  });

  it('refuses both at once', () => {
    expect(() => loadEnv({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER: 'redis://a:7001' })).toThrow(
      /not both/,
    );
  });
});
