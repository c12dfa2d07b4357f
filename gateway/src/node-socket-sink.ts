import type { WSContext } from 'hono/ws';
import type { WebSocket } from 'ws';
import type { SocketSink } from './protocol/socket-sink.ts';

interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * The Node sink: sends the shared UTF-8 bytes as a text frame (no re-encoding per socket),
 * reports `ws`'s queued bytes, and corks the socket around a dispatch so one stream read's
 * frames leave in one `writev`.
 *
 * Bytes written while corked are not backlog: they are only waiting for the end of the
 * dispatch. They are left out of `bufferedAmount`, so backpressure still measures what
 * the client has not taken, not the size of the batch in hand.
 */
export function nodeSocketSink(ws: WSContext<WebSocket>): SocketSink {
  const raw = ws.raw;
  if (raw === undefined) throw new Error('node-ws context without raw socket');
  // `ws` keeps its net.Socket private; it is the only way to cork.
  const socket = (raw as unknown as { _socket?: Corkable })._socket;
  const options = { binary: false };
  let corked = false;
  let corkedBytes = 0;
  return {
    send(frame) {
      const bytes = frame.bytes;
      if (corked) corkedBytes += bytes.byteLength;
      raw.send(bytes, options);
    },
    bufferedAmount: () => Math.max(0, raw.bufferedAmount - corkedBytes),
    close: (code, reason) => raw.close(code, reason),
    cork() {
      if (socket === undefined || corked) return;
      corked = true;
      socket.cork();
    },
    uncork() {
      if (socket === undefined || !corked) return;
      corked = false;
      corkedBytes = 0;
      socket.uncork();
    },
  };
}
