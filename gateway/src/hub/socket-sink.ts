import type { WSContext } from 'hono/ws';
import type { SocketSink } from '../protocol/socket-sink.ts';

/** Portable sink: sends the text (every runtime's WSContext accepts strings as text frames). */
export function wsContextSink<T>(ws: WSContext<T>): SocketSink {
  return {
    send: (frame) => ws.send(frame.text),
    bufferedAmount: () => 0,
    close: (code, reason) => ws.close(code, reason),
  };
}
