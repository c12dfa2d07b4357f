import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Grant } from '../auth/grant.ts';
import { STAFF } from '../auth/principal.ts';
import { createSendStats } from '../send-stats.ts';
import { Connection } from './connection.ts';
import { type SessionOptions, SocketSession } from './socket-session.ts';
import { TokenExpiries } from './token-expiry.ts';

const NOW = 1_800_000_000_000;

/** A socket whose session shares `expiries` with the others; frames and closes are recorded. */
function socket(expiries: TokenExpiries, grant: Grant, verify?: (token: string) => Promise<Grant | string>) {
  const sent: string[] = [];
  const closes: number[] = [];
  const conn = new Connection(
    'c1',
    { send: (frame) => sent.push(frame.text), bufferedAmount: () => 0, close: (code) => closes.push(code) },
    createSendStats(),
  );
  // Only expiry and authentication are exercised: nothing here loads a subscription.
  const options = { expiries, maxBufferedEvents: 10 } as unknown as SessionOptions;
  const session = new SocketSession(conn, options, pino({ level: 'silent' }), grant, verify);
  return { conn, session, sent, closes };
}

describe('SocketSession token expiry', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('closes each socket with 4401 when its own token (plus leeway) runs out', async () => {
    vi.useFakeTimers({ now: NOW });
    const expiries = new TokenExpiries();
    const exp = NOW / 1000 + 10;
    const early = socket(expiries, { principal: STAFF, exp });
    const lenient = socket(expiries, { principal: STAFF, exp, leewayS: 5 });
    const forever = socket(expiries, { principal: STAFF });
    await vi.advanceTimersByTimeAsync(9999);
    expect(early.closes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(early.closes).toEqual([4401]);
    expect(early.sent.map((text) => JSON.parse(text))).toEqual([
      { type: 'error', code: 'unauthorized', message: 'token expired' },
    ]);
    expect(lenient.closes).toEqual([]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(lenient.closes).toEqual([4401]);
    expect(forever.closes).toEqual([]);
    expect(expiries.size).toBe(0);
  });

  it('moves the deadline to a refreshed token and forgets it once the socket closes', async () => {
    vi.useFakeTimers({ now: NOW });
    const expiries = new TokenExpiries();
    const refreshed: Grant = { principal: STAFF, exp: NOW / 1000 + 30 };
    const s = socket(expiries, { principal: STAFF, exp: NOW / 1000 + 10 }, async () => refreshed);
    s.session.onMessage(JSON.stringify({ type: 'auth', token: 't' }));
    await vi.advanceTimersByTimeAsync(29_999);
    expect(s.closes).toEqual([]);
    expect(s.sent.map((text) => JSON.parse(text))).toEqual([{ type: 'authed', exp: refreshed.exp }]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.closes).toEqual([4401]);

    const gone = socket(expiries, { principal: STAFF, exp: NOW / 1000 + 60 });
    gone.conn.markClosed();
    gone.session.close();
    expect(expiries.size).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(gone.closes).toEqual([]);
  });
});
