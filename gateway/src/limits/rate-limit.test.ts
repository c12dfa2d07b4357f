import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.ts';

describe('RateLimiter', () => {
  it('[P73] allows a burst, then refills at the sustained rate', () => {
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

  it('[P74] closes after sustained abuse, even when some messages get through', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 4, perSecond: 10, closeAfter: 3 }, () => now);
    for (let i = 0; i < 4; i++) expect(limiter.take()).toBe('allow');
    expect([limiter.take(), limiter.take()]).toEqual(['refuse', 'refuse']);
    now += 100;
    expect(limiter.take()).toBe('allow');
    expect([limiter.take(), limiter.take()]).toEqual(['refuse', 'close']);
  });

  it('forgives a client once its bucket has recovered', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 4, perSecond: 10, closeAfter: 2 }, () => now);
    for (let i = 0; i < 4; i++) limiter.take();
    expect([limiter.take(), limiter.take()]).toEqual(['refuse', 'refuse']);
    now += 200;
    expect(limiter.take()).toBe('allow');
    for (let i = 0; i < 1; i++) limiter.take();
    expect(limiter.take()).toBe('refuse');
  });
});
