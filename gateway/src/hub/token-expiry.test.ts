import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenExpiry } from './token-expiry.ts';

describe('TokenExpiry', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires at the deadline, once; arming again moves it and clear cancels it', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    let fired = 0;
    const expiry = new TokenExpiry(() => fired++);
    expiry.arm(Date.now() + 3000);
    await vi.advanceTimersByTimeAsync(2999);
    expect(fired).toBe(0);
    expiry.arm(Date.now() + 5000);
    await vi.advanceTimersByTimeAsync(4999);
    expect(fired).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toBe(1);
    expiry.arm(Date.now() + 1000);
    expiry.clear();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fired).toBe(1);
  });

  it('fires at once for a deadline already past', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    let fired = 0;
    new TokenExpiry(() => fired++).arm(Date.now() - 5000);
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toBe(1);
  });

  it('waits out deadlines beyond what one timer can hold (about 24.8 days)', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    let fired = 0;
    const days = 60;
    new TokenExpiry(() => fired++).arm(Date.now() + days * 86_400_000);
    await vi.advanceTimersByTimeAsync((days - 1) * 86_400_000);
    expect(fired).toBe(0);
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(fired).toBe(1);
  });
});
