import { describe, expect, it, vi } from 'vitest';
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
    // Fake timers: the 10 s timer cannot fire by itself, so only the abort can end the sleep.
    // No wall-clock bound involved.
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      let ended = false;
      void sleep(10_000, controller.signal).then(() => {
        ended = true;
      });
      controller.abort();
      // Lets pending callbacks run while moving the fake clock 1 ms, far short of 10 s.
      await vi.advanceTimersByTimeAsync(1);
      expect(ended).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
