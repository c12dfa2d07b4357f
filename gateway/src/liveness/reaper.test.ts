import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startReaper } from './reaper.ts';

/** Enough of a `ws` socket for the reaper: pings are counted, pongs answered on demand. */
function fakeSocket() {
  let onPong: (() => void) | undefined;
  const socket = {
    readyState: WebSocket.OPEN as number,
    pings: 0,
    terminated: false,
    on: (event: string, listener: () => void) => {
      if (event === 'pong') onPong = listener;
    },
    ping: () => socket.pings++,
    terminate: () => {
      socket.terminated = true;
    },
    pong: () => onPong?.(),
  };
  return socket;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('reaper', () => {
  it('[P48] pings every socket once per interval, a tenth of them per tick, and ends the silent ones', () => {
    vi.useFakeTimers();
    const sockets = Array.from({ length: 100 }, fakeSocket);
    const clients = new Set(sockets as unknown as WebSocket[]);
    const stop = startReaper(clients, { intervalMs: 1000, logger: pino({ level: 'silent' }) });
    vi.advanceTimersByTime(100);
    expect(sockets.filter((s) => s.pings === 1)).toHaveLength(10);
    vi.advanceTimersByTime(900);
    expect(sockets.every((s) => s.pings === 1)).toBe(true);
    // All but the first answer; the next round pings those again and terminates the silent one.
    for (const s of sockets.slice(1)) s.pong();
    vi.advanceTimersByTime(1100);
    expect(sockets[0]?.terminated).toBe(true);
    expect(sockets.slice(1).every((s) => s.pings === 2 && !s.terminated)).toBe(true);
    stop();
  });

  it('spreads a long interval over ticks 100 ms apart: a 15 s round pings 1/150 of the sockets per tick', () => {
    vi.useFakeTimers();
    const sockets = Array.from({ length: 3000 }, fakeSocket);
    const clients = new Set(sockets as unknown as WebSocket[]);
    const stop = startReaper(clients, { intervalMs: 15_000, logger: pino({ level: 'silent' }) });
    vi.advanceTimersByTime(100);
    expect(sockets.filter((s) => s.pings === 1)).toHaveLength(20);
    vi.advanceTimersByTime(14_900);
    expect(sockets.every((s) => s.pings === 1)).toBe(true);
    stop();
  });

  it('[P48] pings a handful of sockets once per interval too, giving each the interval to answer', () => {
    vi.useFakeTimers();
    const sockets = Array.from({ length: 3 }, fakeSocket);
    const clients = new Set(sockets as unknown as WebSocket[]);
    const stop = startReaper(clients, { intervalMs: 15_000, logger: pino({ level: 'silent' }) });
    // One socket per tick: the round is over after three ticks.
    vi.advanceTimersByTime(300);
    expect(sockets.map((s) => s.pings)).toEqual([1, 1, 1]);
    // A reader that is slow to answer (its pong queued behind data) is not taken for dead.
    vi.advanceTimersByTime(14_700);
    expect(sockets.map((s) => s.pings)).toEqual([1, 1, 1]);
    expect(sockets.some((s) => s.terminated)).toBe(false);
    for (const s of sockets.slice(1)) s.pong();
    vi.advanceTimersByTime(300);
    expect(sockets[0]?.terminated).toBe(true);
    expect(sockets.slice(1).map((s) => [s.pings, s.terminated])).toEqual([
      [2, false],
      [2, false],
    ]);
    stop();
  });

  it('[P48] terminates a socket still closing a round after it was first seen closing, and not sooner', () => {
    vi.useFakeTimers();
    const sockets = Array.from({ length: 100 }, fakeSocket);
    const [closing] = sockets;
    if (closing === undefined) throw new Error('no socket');
    closing.readyState = WebSocket.CLOSING;
    const clients = new Set(sockets as unknown as WebSocket[]);
    const stop = startReaper(clients, { intervalMs: 1000, logger: pino({ level: 'silent' }) });
    // The first round finds it closing and does not ping it: a client still reading completes
    // the close handshake before the next round.
    vi.advanceTimersByTime(1100);
    expect(closing.terminated).toBe(false);
    expect(closing.pings).toBe(0);
    for (const s of sockets.slice(1)) s.pong();
    // The next round finds it still closing: the client stopped reading, so it is terminated.
    vi.advanceTimersByTime(100);
    expect(closing.terminated).toBe(true);
    expect(sockets.slice(1).some((s) => s.terminated)).toBe(false);
    stop();
  });
});
