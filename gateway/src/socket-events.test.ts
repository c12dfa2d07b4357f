import type { WSContext } from 'hono/ws';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
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
    opened: new WeakSet(),
    opens: 0,
  };
  return { sockets, sent };
}

describe('SocketEvents', () => {
  it('opens a connection in the hub, gives the slot back, serves frames and lets go on close', () => {
    const { sockets, sent } = gateway();
    const log: string[] = [];
    const capLease = lease(log, 'lease');
    const events = new SocketEvents(sockets, { principal: STAFF }, capLease, lease(log, 'slot'));
    const ws = {} as WSContext<unknown>;
    events.onOpen(new Event('open'), ws);
    expect(log).toEqual(['slot released']);
    expect(sockets.opened.has(capLease)).toBe(true);
    expect([...sockets.hub.connections].map((conn) => conn.id)).toEqual(['gw.1']);
    expect(JSON.parse(sent[0] ?? '')).toMatchObject({ type: 'welcome', gateway: 'gw', heartbeatMs: 15_000 });
    events.onMessage(new MessageEvent('message', { data: '{"type":"ping"}' }));
    expect(JSON.parse(sent[1] ?? '')).toEqual({ type: 'pong' });
    events.onClose();
    expect(log).toEqual(['slot released', 'lease released']);
    expect(sockets.hub.connections.size).toBe(0);
  });

  it('numbers the connections of one gateway in the order they open', () => {
    const { sockets } = gateway();
    for (let i = 0; i < 3; i++)
      new SocketEvents(sockets, { principal: STAFF }, undefined, undefined).onOpen(
        new Event('open'),
        {} as WSContext<unknown>,
      );
    expect([...sockets.hub.connections].map((conn) => conn.id)).toEqual(['gw.1', 'gw.2', 'gw.3']);
  });
});
