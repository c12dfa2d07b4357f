import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { is, openRaw } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { until } from './support/wait.ts';

const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket;

/** An upgrade request written up to, not including, the blank line that ends its headers. */
const PARTIAL_UPGRADE = [
  'GET /ws HTTP/1.1',
  'Host: 127.0.0.1',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  '',
].join('\r\n');

describe('the start and end of a socket', () => {
  let h: GatewayHarness;

  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('[P97] answers /readyz with 503 not ready while the gateway drains', async () => {
    const gw = await h.start('life-drain-ready');
    // A client that stopped reading keeps the drain going (until the gateway gives up on it).
    const stuck = await openRaw(gw.url);
    await stuck.next(is('welcome'));
    socketOf(stuck.ws).pause();

    const tcp = connect(gw.port, '127.0.0.1');
    let answer = '';
    tcp.setEncoding('utf8');
    tcp.on('data', (chunk: string) => {
      answer += chunk;
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('connect', resolve);
      tcp.once('error', reject);
    });
    // The probe is in flight (headers begun), so closing the listener does not drop it.
    tcp.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // Ready before the drain: what the probe gets after it is the drain's doing.
    await until(
      async () => (await fetch(`http://127.0.0.1:${gw.port}/readyz`)).ok,
      'the gateway to be ready',
    );
    const stopping = gw.shutdown();
    tcp.write('\r\n');
    try {
      await until(
        () => answer.includes('\r\n\r\n') && answer.endsWith('ready'),
        'an answer to the probe',
        15_000,
      );
    } finally {
      tcp.destroy();
      stuck.ws.terminate();
      await stopping;
    }
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(body).toBe('not ready');
  });

  it('[P2] answers an upgrade that completes while the gateway drains with 503 and retry-after, never a socket', async () => {
    const gw = await h.start('life-drain');
    // A client that stopped reading keeps the drain going (until the gateway gives up on it).
    const stuck = await openRaw(gw.url);
    await stuck.next(is('welcome'));
    socketOf(stuck.ws).pause();

    const tcp = connect(gw.port, '127.0.0.1');
    let answer = '';
    tcp.setEncoding('utf8');
    tcp.on('data', (chunk: string) => {
      answer += chunk;
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('connect', resolve);
      tcp.once('error', reject);
    });
    tcp.write(PARTIAL_UPGRADE);
    // The request is in flight (headers begun), so closing the listener does not drop it.
    await until(async () => (await fetch(`http://127.0.0.1:${gw.port}/healthz`)).ok, 'the gateway to serve');
    const stopping = gw.shutdown();
    tcp.write('\r\n');
    try {
      await until(
        () => answer.includes('\r\n\r\n') && answer.includes('}'),
        'an answer to the upgrade',
        15_000,
      );
    } finally {
      tcp.destroy();
      stuck.ws.terminate();
      await stopping;
    }
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head.toLowerCase()).toMatch(/\r\nretry-after: \d+/);
    expect(JSON.parse(body)).toEqual({ error: 'draining' });
  });

  it('[P44][P48] terminates a socket that never completes the close handshake the gateway started', async () => {
    // A short reaping interval, and a payload cap that makes the gateway close the socket.
    const gw = await h.start('life-reap', { reapIntervalMs: 200, maxPayloadBytes: 1024 });
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    await until(() => gw.hub.connections.size === 1, 'the socket to be served');
    // The client stops reading, so it never answers the close frame it is about to get.
    socketOf(s.ws).pause();
    s.sendText('x'.repeat(2048));
    // ws itself would give up only after 30 s; the reaper ends it within two intervals.
    try {
      await until(() => gw.hub.connections.size === 0, 'the gateway to let go of the socket', 15_000);
    } finally {
      s.ws.terminate();
    }
  });
});
