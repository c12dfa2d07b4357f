import type { WSContext } from 'hono/ws';
import type { WebSocket } from 'ws';
import type { EncodedFrame } from './protocol/encoded-frame.ts';
import type { SocketSink } from './protocol/socket-sink.ts';

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** `ws` sends a Buffer as binary unless told otherwise; one options object serves every socket. */
const TEXT = { binary: false };

/**
 * The Node sink: sends the shared UTF-8 bytes as a text frame (no re-encoding per socket),
 * reports `ws`'s queued bytes, and corks the socket around a dispatch so one stream read's
 * frames leave in one `writev`.
 *
 * Bytes written while corked are not backlog: they are only waiting for the end of the
 * dispatch. They are left out of `bufferedAmount`, so backpressure still measures what
 * the client has not taken, not the size of the batch in hand.
 *
 * A class, so an idle socket holds one small object rather than a closure per method.
 */
class NodeSocketSink implements SocketSink {
  readonly #raw: WebSocket;
  readonly #socket: Corkable | undefined;
  #corked = false;
  #corkedBytes = 0;

  constructor(raw: WebSocket) {
    this.#raw = raw;
    // `ws` keeps its net.Socket private; it is the only way to cork.
    this.#socket = (raw as unknown as { _socket?: Corkable })._socket;
  }

  send(frame: EncodedFrame): void {
    const bytes = frame.bytes;
    if (this.#corked) this.#corkedBytes += bytes.byteLength;
    this.#raw.send(bytes, TEXT);
  }

  bufferedAmount(): number {
    return Math.max(0, this.#raw.bufferedAmount - this.#corkedBytes);
  }

  close(code: number, reason: string): void {
    this.#raw.close(code, reason);
  }

  cork(): void {
    if (this.#socket === undefined || this.#corked) return;
    this.#corked = true;
    this.#socket.cork();
  }

  uncork(): void {
    if (this.#socket === undefined || !this.#corked) return;
    this.#corked = false;
    this.#corkedBytes = 0;
    this.#socket.uncork();
  }
}

/** The sink of a node-ws socket. */
export function nodeSocketSink(ws: WSContext<WebSocket>): SocketSink {
  const raw = ws.raw;
  if (raw === undefined) throw new Error('node-ws context without raw socket');
  return new NodeSocketSink(raw);
}
