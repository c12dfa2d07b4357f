import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../hub/connection.ts';
import { EncodedFrame } from '../protocol/encoded-frame.ts';
import { createSendStats } from '../send-stats.ts';
import { Outbox } from './outbox.ts';

/** A connection on a stand-in socket whose queued bytes the test sets: the outbox decides, the connection writes. */
function harness(options = { softBytes: 10, hardBytes: 100, maxPending: 5, drainPollMs: 5 }) {
  let buffered = 0;
  const written: string[] = [];
  const stats = createSendStats();
  const conn = new Connection(
    'c1',
    { send: (frame) => written.push(frame.text), bufferedAmount: () => buffered, close: () => {} },
    stats,
    { backpressure: options },
  );
  return {
    outbox: conn.outbox,
    send: (frame: EncodedFrame, sub?: string, orderId?: number) => conn.send(frame, sub, orderId),
    written,
    overflows: () => stats.slowConsumers,
    conflated: () => stats.conflated,
    setBuffered: (n: number) => {
      buffered = n;
    },
  };
}

const f = (text: string) => new EncodedFrame(text);

describe('Outbox', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes straight through while the socket keeps up', () => {
    const h = harness();
    h.send(f('a'), 's', 1);
    h.send(f('b'));
    expect(h.written).toEqual(['a', 'b']);
  });

  it('[P91] keeps only the newest change per order above the soft limit, in stream order, and flushes on drain', () => {
    vi.useFakeTimers();
    const h = harness();
    h.setBuffered(50);
    h.send(f('o1v1'), 's', 1);
    h.send(f('o2v1'), 's', 2);
    h.send(f('snap'));
    h.send(f('o1v2'), 's', 1);
    h.send(f('o1v2'), 't', 1);
    expect(h.written).toEqual([]);
    expect(h.conflated()).toBe(1);
    expect(h.outbox.conflated).toBe(1);
    h.setBuffered(0);
    vi.advanceTimersByTime(5);
    expect(h.written).toEqual(['o2v1', 'snap', 'o1v2', 'o1v2']);
    // Drained: back to writing through.
    h.send(f('x'), 's', 3);
    expect(h.written.at(-1)).toBe('x');
  });

  it('[P102] marks the change that replaced held ones conflated, for this socket only', () => {
    vi.useFakeTimers();
    const h = harness({ softBytes: 10, hardBytes: 10_000, maxPending: 5, drainPollMs: 5 });
    const v1 = f('{"type":"change","sub":"s","row":{"id":1,"version":1}}');
    const v2 = f('{"type":"change","sub":"s","row":{"id":1,"version":2}}');
    const v3 = f('{"type":"change","sub":"s","row":{"id":1,"version":3}}');
    const other = f('{"type":"change","sub":"s","row":{"id":2,"version":1}}');
    h.setBuffered(50);
    for (const frame of [v1, v2, v3, other]) h.send(frame, 's', JSON.parse(frame.text).row.id);
    h.setBuffered(0);
    vi.advanceTimersByTime(5);
    expect(h.written.map((text) => JSON.parse(text))).toEqual([
      { conflated: true, type: 'change', sub: 's', row: { id: 1, version: 3 } },
      { type: 'change', sub: 's', row: { id: 2, version: 1 } },
    ]);
    // The shared frame other sockets get is untouched.
    expect(v3.text).not.toContain('conflated');
  });

  it('[P92] holds later frames behind held ones so nothing overtakes', () => {
    vi.useFakeTimers();
    const h = harness();
    h.setBuffered(50);
    h.send(f('first'), 's', 1);
    h.send(f('second'), 's', 2);
    h.setBuffered(0);
    // The next frame after the socket drained flushes the held ones first, in order.
    h.send(f('third'), 's', 3);
    expect(h.written).toEqual(['first', 'second', 'third']);
    expect(h.outbox.heldFrames).toBe(0);
  });

  it('[P92] holds snapshot chunks, live, errors and pongs in order behind held changes, dropping none', () => {
    vi.useFakeTimers();
    const h = harness({ softBytes: 10, hardBytes: 10_000, maxPending: 20, drainPollMs: 5 });
    h.setBuffered(50);
    const others = ['snap1', 'snap2', 'live', 'error', 'pong', 'pong'];
    h.send(f('o1v1'), 's', 1);
    for (const text of others) h.send(f(text));
    h.send(f('o2v1'), 's', 2);
    expect(h.written).toEqual([]);
    expect(h.outbox.heldFrames).toBe(others.length + 2);
    h.setBuffered(0);
    vi.advanceTimersByTime(5);
    expect(h.written).toEqual(['o1v1', ...others, 'o2v1']);
    expect(h.conflated()).toBe(0);
  });

  it('[P84] by default writes below 1 MiB queued, holds above it, and cuts off past 8 MiB', () => {
    let buffered = 0;
    const outbox = new Outbox({ bufferedAmount: () => buffered });
    const frame = f('x'.repeat(1024));
    buffered = 1024 * 1024 - 1;
    expect(outbox.offer(frame, 's', 1)).toBe('write');
    buffered = 1024 * 1024;
    expect(outbox.offer(frame, 's', 1)).toBe('held');
    expect(outbox.offer(frame, 's', 1)).toBe('conflated');
    // Queued plus held bytes at the hard limit still fit; one byte past it does not.
    buffered = 8 * 1024 * 1024 - 1024;
    expect(outbox.offer(frame, 's', 1)).toBe('conflated');
    buffered = 8 * 1024 * 1024 - 1023;
    expect(outbox.offer(frame, 's', 1)).toBe('overflow');
    expect(outbox.heldFrames).toBe(0);
  });

  it('keeps holding while the socket is still full', () => {
    vi.useFakeTimers();
    const h = harness();
    h.setBuffered(50);
    h.send(f('a'), 's', 1);
    vi.advanceTimersByTime(50);
    expect(h.written).toEqual([]);
    h.send(f('b'));
    expect(h.outbox.heldFrames).toBe(2);
    h.setBuffered(0);
    vi.advanceTimersByTime(5);
    expect(h.written).toEqual(['a', 'b']);
  });

  it('[P93] overflows past the hard limit or the held-frame cap, and drops what it held', () => {
    const bytes = harness();
    bytes.setBuffered(95);
    bytes.send(f('0123456789'), 's', 1);
    expect(bytes.overflows()).toBe(1);
    expect(bytes.outbox.heldFrames).toBe(0);

    const count = harness({ softBytes: 10, hardBytes: 1_000_000, maxPending: 3, drainPollMs: 5 });
    count.setBuffered(50);
    for (let id = 1; id <= 3; id++) count.send(f('x'), 's', id);
    expect(count.overflows()).toBe(0);
    count.send(f('x'), 's', 4);
    expect(count.overflows()).toBe(1);
    count.outbox.clear();
  });
});
