import type { WSContext } from 'hono/ws';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { nodeSocketSink } from './node-socket-sink.ts';
import { EncodedFrame } from './protocol/encoded-frame.ts';

function fakeSocket() {
  const calls: string[] = [];
  const raw = {
    bufferedAmount: 0,
    sent: [] as { data: unknown; binary: boolean }[],
    send(data: Uint8Array, options: { binary: boolean }) {
      this.sent.push({ data, binary: options.binary });
      this.bufferedAmount += data.byteLength;
    },
    close() {},
    _socket: { cork: () => calls.push('cork'), uncork: () => calls.push('uncork') },
  };
  const sink = nodeSocketSink({ raw } as unknown as WSContext<WebSocket>);
  return { raw, sink, calls };
}

describe('nodeSocketSink', () => {
  it('sends shared bytes as text frames', () => {
    const { raw, sink } = fakeSocket();
    const frame = new EncodedFrame('{"type":"pong"}');
    sink.send(frame);
    expect(raw.sent).toEqual([{ data: frame.bytes, binary: false }]);
  });

  it('leaves bytes written while corked out of the backlog', () => {
    const { raw, sink, calls } = fakeSocket();
    raw.bufferedAmount = 100;
    sink.cork?.();
    sink.cork?.();
    sink.send(new EncodedFrame('x'.repeat(50)));
    expect(sink.bufferedAmount()).toBe(100);
    sink.uncork?.();
    expect(calls).toEqual(['cork', 'uncork']);
    expect(sink.bufferedAmount()).toBe(150);
  });
});
