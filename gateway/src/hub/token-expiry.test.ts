import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenDeadline, TokenExpiries } from './token-expiry.ts';

/** A socket that records when its token expired (ms after the test's start). */
function socket(fired: string[], name: string, start: number): TokenDeadline {
  return new TokenDeadline({ tokenExpired: () => fired.push(`${name}@${Date.now() - start}`) });
}

describe('TokenExpiries', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires at the deadline, once; arming again moves it and clear cancels it', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const start = Date.now();
    const fired: string[] = [];
    const expiries = new TokenExpiries();
    const a = socket(fired, 'a', start);
    expiries.arm(a, start + 3000);
    await vi.advanceTimersByTimeAsync(2999);
    expect(fired).toEqual([]);
    expiries.arm(a, Date.now() + 5000);
    await vi.advanceTimersByTimeAsync(4999);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual(['a@7999']);
    expiries.arm(a, Date.now() + 1000);
    expiries.clear(a);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fired).toEqual(['a@7999']);
    expect(expiries.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fires at once for a deadline already past', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const fired: string[] = [];
    new TokenExpiries().arm(socket(fired, 'a', Date.now()), Date.now() - 5000);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toEqual(['a@0']);
  });

  it('waits out deadlines beyond what one timer can hold (about 24.8 days)', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const fired: string[] = [];
    const days = 60;
    new TokenExpiries().arm(socket(fired, 'a', Date.now()), Date.now() + days * 86_400_000);
    await vi.advanceTimersByTimeAsync((days - 1) * 86_400_000);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(fired).toEqual([`a@${days * 86_400_000}`]);
  });

  it('closes many sockets each at its own deadline with one timer, whatever order they were armed in', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const start = Date.now();
    const fired: string[] = [];
    const expiries = new TokenExpiries();
    const offsets = [5000, 1000, 9000, 3000, 3000, 7000, 2000, 8000, 4000, 6000];
    const sockets = offsets.map((offset, i) => {
      const deadline = socket(fired, `s${i}`, start);
      expiries.arm(deadline, start + offset);
      return deadline;
    });
    expect(vi.getTimerCount()).toBe(1);
    // One refreshed token moves later, one earlier; one socket closes.
    expiries.arm(sockets[1] as TokenDeadline, start + 9500);
    expiries.arm(sockets[2] as TokenDeadline, start + 500);
    expiries.clear(sockets[5] as TokenDeadline);
    await vi.advanceTimersByTimeAsync(2999);
    expect(fired).toEqual(['s2@500', 's6@2000']);
    await vi.advanceTimersByTimeAsync(10_000);
    // Each at its deadline, in time order (two tokens ending together in either order).
    const at = (entry: string) => Number(entry.split('@')[1]);
    expect(fired.map(at)).toEqual(fired.map(at).sort((x, y) => x - y));
    expect([...fired].sort((x, y) => at(x) - at(y) || x.localeCompare(y))).toEqual([
      's2@500',
      's6@2000',
      's3@3000',
      's4@3000',
      's8@4000',
      's0@5000',
      's9@6000',
      's7@8000',
      's1@9500',
    ]);
    expect(expiries.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets a socket closed by its deadline clear or move others', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const start = Date.now();
    const fired: string[] = [];
    const expiries = new TokenExpiries();
    const b = socket(fired, 'b', start);
    const c = socket(fired, 'c', start);
    const a = new TokenDeadline({
      tokenExpired() {
        fired.push(`a@${Date.now() - start}`);
        expiries.clear(b);
        expiries.arm(c, start + 4000);
      },
    });
    expiries.arm(a, start + 1000);
    expiries.arm(b, start + 1000);
    expiries.arm(c, start + 2000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(fired).toEqual(['a@1000', 'c@4000']);
  });
});
