import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from './backoff.ts';

describe('backoffDelay', () => {
  it('grows the ceiling exponentially up to the maximum', () => {
    const top = () => 0.999999;
    expect(backoffDelay(0, 100, 5000, top)).toBe(99);
    expect(backoffDelay(1, 100, 5000, top)).toBe(199);
    expect(backoffDelay(3, 100, 5000, top)).toBe(799);
    expect(backoffDelay(20, 100, 5000, top)).toBe(4999);
    expect(backoffDelay(10_000, 100, 5000, top)).toBe(4999);
  });

  it('jitters over the whole range', () => {
    expect(backoffDelay(5, 100, 5000, () => 0)).toBe(0);
    const samples = Array.from({ length: 200 }, () => backoffDelay(4, 100, 5000));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(1600);
    expect(new Set(samples).size).toBeGreaterThan(50);
  });

  it('sleep ends early on abort', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = sleep(10_000, controller.signal);
    controller.abort();
    await pending;
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
