import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';

describe('parseEnv', () => {
  it('applies the documented defaults', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      ORDERS_TOPIC: 'orders.public.orders',
      KAFKA_GROUP: 'orders-worker',
      DLQ_TOPIC: 'orders.public.orders.dlq',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_NS: 'orders',
      WORKER_PORT: 9464,
      KAFKA_FETCH_MIN_BYTES: 1,
      KAFKA_FETCH_MAX_WAIT_MS: 1000,
    });
  });

  it('splits broker lists and coerces numbers', () => {
    const env = parseEnv({ KAFKA_BROKERS: 'a:1, b:2', GATEWAY_TTL_MS: '2500', WORKER_PORT: '0' });
    expect(env.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(env.GATEWAY_TTL_MS).toBe(2500);
    expect(env.WORKER_PORT).toBe(0);
  });

  it('fails with a readable message on bad values', () => {
    expect(() => parseEnv({ HISTORY_MAXLEN: 'lots' })).toThrow(/HISTORY_MAXLEN/);
  });
});

describe('REDIS_SHARDS', () => {
  it('defaults to one group and takes a positive integer', () => {
    expect(parseEnv({}).REDIS_SHARDS).toBe(1);
    expect(parseEnv({ REDIS_SHARDS: '3' }).REDIS_SHARDS).toBe(3);
  });

  it('refuses anything but a positive integer, naming the variable', () => {
    for (const bad of ['0', '-2', '1.5', 'three', '', '2x']) {
      expect(() => parseEnv({ REDIS_SHARDS: bad })).toThrow(/REDIS_SHARDS must be a positive integer/);
    }
  });
});

describe('REDIS_WAIT_REPLICAS', () => {
  it('is off by default and takes a count of replicas with a timeout', () => {
    expect(parseEnv({})).toMatchObject({ REDIS_WAIT_REPLICAS: 0, REDIS_WAIT_TIMEOUT_MS: 1000 });
    expect(parseEnv({ REDIS_WAIT_REPLICAS: '2', REDIS_WAIT_TIMEOUT_MS: '250' })).toMatchObject({
      REDIS_WAIT_REPLICAS: 2,
      REDIS_WAIT_TIMEOUT_MS: 250,
    });
  });

  it('refuses a negative count and a cluster, naming the variable', () => {
    expect(() => parseEnv({ REDIS_WAIT_REPLICAS: '-1' })).toThrow(/REDIS_WAIT_REPLICAS/);
    expect(() => parseEnv({ REDIS_WAIT_REPLICAS: '1', REDIS_CLUSTER: 'redis://127.0.0.1:7001' })).toThrow(
      /REDIS_WAIT_REPLICAS works with one server/,
    );
  });
});
