import type { ServerFrame } from '@orders/contract';
import { type ErrorCode, errorPolicy } from '@orders/contract';
import { Outbox, type OutboxOptions } from '../backpressure/outbox.ts';
import { EncodedFrame } from '../protocol/encoded-frame.ts';
import type { SendStats } from './send-stats.ts';
import type { SocketSink } from './socket-sink.ts';
import { SubscriptionMap } from './subscription-index.ts';

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

/** A batch is sent once it holds this many characters, so no message grows without bound. */
const MAX_BATCH_CHARS = 64 * 1024;

/** One WebSocket and its subscriptions. */
export class Connection {
  readonly subs = new SubscriptionMap();
  #closed = false;
  readonly outbox: Outbox;
  /**
   * Set by the client's `options` frame: change frames written while a batch is open (one
   * stream read's dispatch, one replay page, one flush of held frames) leave as one
   * `changes` frame instead of one message each.
   */
  batchChanges = false;
  #batchDepth = 0;
  #batch: EncodedFrame[] = [];
  #batchChars = 0;
  readonly #emit: (frame: EncodedFrame) => void;

  constructor(
    readonly id: string,
    readonly sink: SocketSink,
    readonly stats: SendStats,
    options: ConnectionOptions = {},
  ) {
    const backpressure = { ...options.backpressure };
    if (options.maxBufferedBytes !== undefined) backpressure.hardBytes = options.maxBufferedBytes;
    this.#emit = (frame) => {
      sink.send(frame);
      stats.frames++;
      stats.bytes += frame.text.length;
    };
    this.outbox = new Outbox(
      sink,
      (frame, change) => this.#write(frame, change),
      () => {
        stats.slowConsumers++;
        this.fail('slow_consumer', 'too many bytes queued; reconnect and resume from your cursor');
      },
      backpressure,
      () => stats.conflated++,
      (run) => this.batch(run),
    );
  }

  /**
   * Runs `run` with a batch open: on a socket that asked for `changes`, the change frames it
   * writes leave together when the outermost batch closes. Any other frame first sends the
   * changes before it, so the socket's order is the order frames were written in.
   */
  batch(run: () => void): void {
    this.openBatch();
    try {
      run();
    } finally {
      this.closeBatch();
    }
  }

  #round = 0;
  #corked = false;
  #batched = false;

  enterDispatch(round: number): boolean {
    if (this.#round === round) return false;
    this.#round = round;
    this.#corked = this.sink.cork !== undefined;
    this.sink.cork?.();
    this.#batched = this.batchChanges;
    if (this.#batched) this.openBatch();
    return true;
  }

  leaveDispatch(): void {
    // The batch goes out before the uncork, in the same write as everything else.
    if (this.#batched) this.closeBatch();
    if (this.#corked) this.sink.uncork?.();
    this.#batched = false;
    this.#corked = false;
  }

  /** {@link batch} for a caller that cannot wrap its work in one function; pair every call with {@link closeBatch}. */
  openBatch(): void {
    this.#batchDepth++;
  }

  closeBatch(): void {
    if (this.#batchDepth > 0 && --this.#batchDepth === 0) this.#sendBatch();
  }

  #write(frame: EncodedFrame, change: boolean): void {
    if (change && this.batchChanges && this.#batchDepth > 0) {
      this.#batch.push(frame);
      this.#batchChars += frame.text.length;
      if (this.#batchChars >= MAX_BATCH_CHARS) this.#sendBatch();
      return;
    }
    this.#sendBatch();
    this.#emit(frame);
  }

  #sendBatch(): void {
    const frames = this.#batch;
    if (frames.length === 0) return;
    this.#batch = [];
    this.#batchChars = 0;
    if (this.#closed) return;
    this.#emit(frames.length === 1 ? (frames[0] as EncodedFrame) : batchFrame(frames));
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
    this.#batch = [];
    this.#batchChars = 0;
    this.outbox.clear();
    for (const sub of this.subs.values()) sub.close();
    this.subs.clear();
  }
}

/**
 * The last batch built. Sockets with the same subscriptions get the same change frames in a
 * dispatch, one after another, so they share one serialized batch as they share the frames.
 */
let lastBatch: { frames: EncodedFrame[]; frame: EncodedFrame } | undefined;

function batchFrame(frames: EncodedFrame[]): EncodedFrame {
  const last = lastBatch;
  if (
    last !== undefined &&
    last.frames.length === frames.length &&
    last.frames.every((f, i) => f === frames[i])
  )
    return last.frame;
  let text = '{"type":"changes","changes":[';
  for (let i = 0; i < frames.length; i++) text += (i === 0 ? '' : ',') + (frames[i] as EncodedFrame).text;
  const frame = new EncodedFrame(`${text}]}`);
  lastBatch = { frames, frame };
  return frame;
}
