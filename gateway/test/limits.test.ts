import { errorPolicy, limits, type ServerFrame } from '@orders/contract';
import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/node-server.ts';
import { is, openRaw } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { until } from './support/wait.ts';

const socketOf = (ws: unknown) =>
  (ws as { _socket: { pause(): void; resume(): void; cork(): void; uncork(): void } })._socket;

describe('limits and liveness', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('limits-a', { reapIntervalMs: 300 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('[P65][P66] answers a long frame with too_large and stays usable; closes 1009 past the payload cap', async () => {
    expectFaults({ faults: ['oversized_message'] });
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    s.sendText(JSON.stringify({ type: 'ping', pad: 'x'.repeat(limits.frameLength) }));
    expect(await s.next(is('error'))).toMatchObject({ code: 'too_large' });
    s.send({ type: 'ping' });
    await s.next(is('pong'));
    s.sendText('x'.repeat(limits.maxPayloadBytes + 1));
    expect((await s.waitClose()).code).toBe(errorPolicy('too_large').close);
  });

  it('[P5][P67][P69][P70][P72] caps subscriptions per socket and filter sizes', async () => {
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    // The sizes below are the code's; these are the numbers PROTOCOL.md promises.
    expect([limits.filterIds, limits.customerLength, limits.subIdLength]).toEqual([1000, 200, 64]);
    for (let i = 0; i < 32; i++) s.send({ type: 'subscribe', sub: `s${i}`, filter: { ids: [1] } });
    await until(() => s.frames.filter((f) => f.type === 'live').length === 32, 'all 32 subscriptions live');
    s.send({ type: 'subscribe', sub: 'one-too-many' });
    expect(await s.next(is('error', 'one-too-many'))).toMatchObject({ code: 'too_large' });
    const ids = Array.from({ length: limits.filterIds + 1 }, (_, i) => i + 1);
    s.send({ type: 'subscribe', sub: 'big', filter: { ids } });
    expect(await s.next(is('error', 'big'))).toMatchObject({ code: 'bad_request' });
    s.send({ type: 'subscribe', sub: 'long', filter: { customer: 'x'.repeat(limits.customerLength + 1) } });
    expect(await s.next(is('error', 'long'))).toMatchObject({ code: 'bad_request' });
    s.send({ type: 'subscribe', sub: 'x'.repeat(limits.subIdLength + 1) });
    expect(await s.next(is('error'))).toMatchObject({ code: 'bad_request' });
    s.send({ type: 'unsubscribe', sub: 's0' });
    await s.next(is('unsubscribed', 's0'));
    s.send({ type: 'subscribe', sub: 'fits-again', filter: { ids: [1] } });
    await s.next(is('live', 'fits-again'));
    s.close();
  });

  it('[P69][P70][P72] refuses a sub id, filter.ids or filter.customer past its size with bad_request, on a socket with room', async () => {
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const over = [
      { type: 'subscribe', sub: 'x'.repeat(limits.subIdLength + 1) },
      { type: 'subscribe', sub: 'big', filter: { ids: ids(limits.filterIds + 1) } },
      { type: 'subscribe', sub: 'long', filter: { customer: 'x'.repeat(limits.customerLength + 1) } },
    ];
    for (const frame of over) {
      // A refusal is answered at once, before the ping's pong; an accepted subscription is not.
      s.send(frame);
      s.send({ type: 'ping' });
      const answer = await s.next((f): f is ServerFrame => f.type === 'error' || f.type === 'pong');
      expect(answer, JSON.stringify(frame).slice(0, 60)).toMatchObject({
        type: 'error',
        code: 'bad_request',
      });
      await s.next(is('pong'));
    }
    // Each size itself is fine.
    s.send({ type: 'subscribe', sub: 'y'.repeat(limits.subIdLength), filter: { ids: [1] } });
    s.send({ type: 'subscribe', sub: 'most', filter: { ids: ids(limits.filterIds) } });
    s.send({ type: 'subscribe', sub: 'longest', filter: { customer: 'x'.repeat(limits.customerLength) } });
    await until(() => s.frames.filter((f) => f.type === 'live').length === 3, 'the three subscriptions live');
    expect(s.frames.filter((f) => f.type === 'error')).toHaveLength(over.length);
    s.close();
  });

  it('[P73][P74] rate-limits a flooding socket with rate_limited, then closes it with 4429', async () => {
    expectFaults({ faults: ['flood'] });
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    // One TCP write: the gateway reads the whole flood at once, so how fast this machine
    // happens to be cannot let the bucket refill in between.
    socketOf(s.ws).cork();
    for (let i = 0; i < 400; i++) s.send({ type: 'ping' });
    socketOf(s.ws).uncork();
    const closed = await s.waitClose();
    expect(closed.code).toBe(errorPolicy('rate_limited').close);
    const answers = s.frames.filter((f) => f.type === 'pong' || f.type === 'error');
    const refused = answers.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
    // The burst (100 by default) is served first, then extra messages are refused until the
    // limiter gives up after 100 refusals: the 101st is answered too, then the socket closes.
    expect(answers.slice(0, 100).every((f) => f.type === 'pong')).toBe(true);
    expect(refused).toBeGreaterThanOrEqual(101);
    expect(answers.at(-1)).toMatchObject({ type: 'error', code: 'rate_limited' });
    // Every answer is for one message of the flood; nothing is answered twice.
    expect(answers.length).toBeLessThanOrEqual(400);
  });

  it('[P39] answers binary frames with bad_request and closes invalid UTF-8 text with 1007', async () => {
    expectFaults({ faults: ['invalid_utf8'] });
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    s.ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true });
    expect(await s.next(is('error'))).toMatchObject({ code: 'bad_request' });
    s.send({ type: 'ping' });
    await s.next(is('pong'));
    s.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await s.waitClose()).code).toBe(1007);
  });

  it('[P44][P48] reaps a socket that stops answering pings', async () => {
    await until(() => gw.hub.connections.size === 0, 'earlier sockets to go');
    const s = await openRaw(gw.url);
    await s.next(is('welcome'));
    await until(() => gw.hub.connections.size === 1, 'the socket to register');
    socketOf(s.ws).pause();
    // The deadline is generous on purpose: the test is that the socket is reaped at all.
    await until(() => gw.hub.connections.size === 0, 'the silent socket to be reaped', 30_000);
    s.ws.terminate();
  });
});
