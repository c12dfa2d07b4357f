import { describe, expect, it } from 'vitest';
import { loadEnv } from './env.ts';

describe('REDIS_SHARDS on the gateway (same rule as the worker)', () => {
  it('defaults to one group and takes a positive integer', () => {
    expect(loadEnv({}).REDIS_SHARDS).toBe(1);
    expect(loadEnv({ REDIS_SHARDS: '3' }).REDIS_SHARDS).toBe(3);
  });

  it('refuses to start on anything but a positive integer, naming the variable', () => {
    for (const bad of ['0', '-1', '2.5', 'many', '', '3 groups']) {
      expect(() => loadEnv({ REDIS_SHARDS: bad })).toThrow(/REDIS_SHARDS must be a positive integer/);
    }
  });
});
