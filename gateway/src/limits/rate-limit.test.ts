import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.ts';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the sustained rate', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 3, perSecond: 10, closeAfter: 5 }, () => now);
    expect([limiter.take(), limiter.take(), limiter.take(), limiter.take()]).toEqual([
      'allow',
      'allow',
      'allow',
      'refuse',
    ]);
    now += 100;
    expect(limiter.take()).toBe('allow');
    expect(limiter.take()).toBe('refuse');
  });

  it('closes after sustained abuse and forgives a client that slows down', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 1, perSecond: 10, closeAfter: 2 }, () => now);
    expect(limiter.take()).toBe('allow');
    expect([limiter.take(), limiter.take()]).toEqual(['refuse', 'refuse']);
    now += 100;
    expect(limiter.take()).toBe('allow');
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual(['refuse', 'refuse', 'close']);
  });
});
