import { EncodedFrame } from '../protocol/encoded-frame.ts';
import { type ErrorCode, errorPolicy } from '../protocol/error-code.ts';
import type { ServerFrame } from '../protocol/server-frame.ts';
import type { SendStats } from './send-stats.ts';
import type { SocketSink } from './socket-sink.ts';
import type { Subscription } from './subscription.ts';

export interface ConnectionOptions {
  /**
   * Bytes a socket may have queued before it is cut off as a slow consumer; the client
   * resumes from its cursor, so cutting costs it a reconnect, not data.
   * @default 8 MiB
   */
  maxBufferedBytes?: number;
}

/** One WebSocket and its subscriptions. */
export class Connection {
  readonly subs = new Map<string, Subscription>();
  #closed = false;
  readonly #maxBuffered: number;

  constructor(
    readonly id: string,
    readonly sink: SocketSink,
    readonly stats: SendStats,
    options: ConnectionOptions = {},
  ) {
    this.#maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: EncodedFrame): void {
    if (this.#closed) return;
    if (this.sink.bufferedAmount() > this.#maxBuffered) {
      this.stats.slowConsumers++;
      this.fail('slow_consumer', 'too many bytes queued; reconnect and resume from your cursor');
      return;
    }
    this.sink.send(frame);
    this.stats.frames++;
    this.stats.bytes += frame.text.length;
  }

  sendFrame(frame: ServerFrame): void {
    this.send(EncodedFrame.of(frame));
  }

  error(code: ErrorCode, message: string, sub?: string): void {
    this.sendFrame(
      sub === undefined ? { type: 'error', code, message } : { type: 'error', code, message, sub },
    );
  }

  /** Ends the connection for a protocol reason: an error frame if it still fits, then the close code. */
  fail(code: ErrorCode, message: string): void {
    if (this.#closed) return;
    if (code !== 'slow_consumer') this.error(code, message);
    this.close(errorPolicy(code).close, code);
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.markClosed();
    this.sink.close(code, reason);
  }

  /** Called once the socket is gone, whoever closed it. */
  markClosed(): void {
    this.#closed = true;
    for (const sub of this.subs.values()) sub.close();
    this.subs.clear();
  }
}
