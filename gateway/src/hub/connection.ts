import type { ServerFrame } from '@orders/contract';
import { type ErrorCode, errorPolicy } from '@orders/contract';
import { Outbox, type OutboxOptions } from '../backpressure/outbox.ts';
import { EncodedFrame } from '../protocol/encoded-frame.ts';
import type { SendStats } from './send-stats.ts';
import type { SocketSink } from './socket-sink.ts';
import type { Subscription } from './subscription.ts';

export interface ConnectionOptions {
  /**
   * Bytes a socket may have queued (in the socket and held for conflation) before it is cut
   * off as a slow consumer; the client resumes from its cursor, so cutting costs it a
   * reconnect, not data. Overrides `backpressure.hardBytes`.
   * @default 8 MiB
   */
  maxBufferedBytes?: number;
  /** Soft limit, held-frame cap and drain polling; see {@link OutboxOptions}. */
  backpressure?: OutboxOptions;
}

/** One WebSocket and its subscriptions. */
export class Connection {
  readonly subs = new Map<string, Subscription>();
  #closed = false;
  readonly outbox: Outbox;

  constructor(
    readonly id: string,
    readonly sink: SocketSink,
    readonly stats: SendStats,
    options: ConnectionOptions = {},
  ) {
    const backpressure = { ...options.backpressure };
    if (options.maxBufferedBytes !== undefined) backpressure.hardBytes = options.maxBufferedBytes;
    this.outbox = new Outbox(
      sink,
      (frame) => {
        sink.send(frame);
        stats.frames++;
        stats.bytes += frame.text.length;
      },
      () => {
        stats.slowConsumers++;
        this.fail('slow_consumer', 'too many bytes queued; reconnect and resume from your cursor');
      },
      backpressure,
      () => stats.conflated++,
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** `sub` and `orderId` mark a change a newer one for the same order may replace while the socket lags. */
  send(frame: EncodedFrame, sub?: string, orderId?: number): void {
    if (this.#closed) return;
    this.outbox.send(frame, sub, orderId);
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
    this.outbox.clear();
    for (const sub of this.subs.values()) sub.close();
    this.subs.clear();
  }
}
