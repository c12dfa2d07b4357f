import type { WSContext } from 'hono/ws';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { STAFF } from './auth/principal.ts';
import { Hub } from './hub/hub.ts';
import type { SessionOptions } from './hub/socket-session.ts';
import { TokenExpiries } from './hub/token-expiry.ts';
import type { CapLease } from './limits/connection-caps.ts';
import { createSendStats } from './send-stats.ts';
import { type GatewaySockets, SocketEvents } from './socket-events.ts';

function lease(log: string[], name: string): CapLease {
  return { release: () => log.push(`${name} released`) };
}

function gateway() {
  const sent: string[] = [];
  const sockets: GatewaySockets<unknown> = {
    gatewayId: 'gw',
    hub: new Hub(),
    stats: createSendStats(),
    logger: pino({ level: 'silent' }),
    toSink: () => ({ send: (frame) => sent.push(frame.text), bufferedAmount: () => 0, close: () => {} }),
    connection: undefined,
    session: { expiries: new TokenExpiries(), maxBufferedEvents: 10 } as unknown as SessionOptions,
    verify: undefined,
    heartbeatMs: 15_000,
    opens: 0,
  };
  return { sockets, sent };
}

const open = new Event('open');
const ws = {} as WSContext<unknown>;

describe('SocketEvents', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens a connection in the hub, gives the slot back, serves frames and lets go on close', () => {
    const { sockets, sent } = gateway();
    const log: string[] = [];
    const events = new SocketEvents(sockets, {
      grant: { principal: STAFF },
      lease: lease(log, 'lease'),
      slot: lease(log, 'slot'),
      abandoned: undefined,
    });
    events.onOpen(open, ws);
    expect(log).toEqual(['slot released']);
    expect([...sockets.hub.connections].map((conn) => conn.id)).toEqual(['gw.1']);
    expect(JSON.parse(sent[0] ?? '')).toMatchObject({ type: 'welcome', gateway: 'gw', heartbeatMs: 15_000 });
    events.onMessage(new MessageEvent('message', { data: '{"type":"ping"}' }));
    expect(JSON.parse(sent[1] ?? '')).toEqual({ type: 'pong' });
    events.onClose();
    expect(log).toEqual(['slot released', 'lease released']);
    expect(sockets.hub.connections.size).toBe(0);
  });

  it('clears the abandoned-upgrade timer as the socket opens: the lease stays until the socket closes', async () => {
    vi.useFakeTimers();
    const { sockets } = gateway();
    const log: string[] = [];
    const capLease = lease(log, 'lease');
    const slot = lease(log, 'slot');
    // As the last upgrade guard arms it.
    const abandoned = setTimeout(() => {
      capLease.release();
      slot.release();
    }, 10_000);
    const events = new SocketEvents(sockets, {
      grant: { principal: STAFF },
      lease: capLease,
      slot,
      abandoned,
    });
    await vi.advanceTimersByTimeAsync(5_000);
    events.onOpen(open, ws);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(log).toEqual(['slot released']);
    events.onClose();
    expect(log).toEqual(['slot released', 'lease released']);
  });

  it('numbers the connections of one gateway in the order they open', () => {
    const { sockets } = gateway();
    for (let i = 0; i < 3; i++) {
      const upgrade = {
        grant: { principal: STAFF },
        lease: undefined,
        slot: undefined,
        abandoned: undefined,
      };
      new SocketEvents(sockets, upgrade).onOpen(open, ws);
    }
    expect([...sockets.hub.connections].map((conn) => conn.id)).toEqual(['gw.1', 'gw.2', 'gw.3']);
  });
});
