import { describeTarget, redisTarget } from '@orders/redis';
import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';

describe('choosing Redis from the environment', () => {
  it('runs on one server by default and on REDIS_URL when given', () => {
    expect(redisTarget(parseEnv({}))).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    expect(redisTarget(parseEnv({ REDIS_URL: 'redis://r:6380' }))).toEqual({
      kind: 'single',
      url: 'redis://r:6380',
    });
  });

  it('runs on a cluster when REDIS_CLUSTER lists seed nodes', () => {
    const target = redisTarget(
      parseEnv({ REDIS_CLUSTER: ' redis://a:7001, redis://b:7002 ,rediss://c:7003' }),
    );
    expect(target).toEqual({
      kind: 'cluster',
      seeds: ['redis://a:7001', 'redis://b:7002', 'rediss://c:7003'],
    });
    expect(describeTarget(target)).toBe('cluster via redis://a:7001,redis://b:7002,rediss://c:7003');
  });

  it('treats an empty REDIS_CLUSTER as unset', () => {
    expect(redisTarget(parseEnv({ REDIS_CLUSTER: ' ' })).kind).toBe('single');
  });

  it('refuses seeds that are not redis URLs, and both variables at once', () => {
    expect(() => parseEnv({ REDIS_CLUSTER: 'a:7001' })).toThrow(/REDIS_CLUSTER/);
    expect(() => parseEnv({ REDIS_CLUSTER: 'http://a:7001' })).toThrow(/REDIS_CLUSTER/);
    expect(() => parseEnv({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER: 'redis://a:7001' })).toThrow(
      /REDIS_URL .* or REDIS_CLUSTER .*not both/,
    );
  });
});
