import type { ServerFrame } from '@orders/contract';
import { type ErrorCode, errorPolicy } from '@orders/contract';
import { Outbox, type OutboxOptions } from '../backpressure/outbox.ts';
import { EncodedFrame } from '../protocol/encoded-frame.ts';
import type { SocketSink } from '../protocol/socket-sink.ts';
import type { SendStats } from '../send-stats.ts';
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
  /** Set while frames are held: the next look at whether the socket can take them. */
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly id: string,
    readonly sink: SocketSink,
    readonly stats: SendStats,
    options: ConnectionOptions = {},
  ) {
    const backpressure = { ...options.backpressure };
    if (options.maxBufferedBytes !== undefined) backpressure.hardBytes = options.maxBufferedBytes;
    this.outbox = new Outbox(sink, backpressure);
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

  /** Runs `run` with the socket corked: the frames it writes leave in one socket write. */
  corked(run: () => void): void {
    // Never inside a dispatch round (synchronous), whose cork this would end early.
    this.sink.cork?.();
    try {
      run();
    } finally {
      this.sink.uncork?.();
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
    if (this.#batchDepth > 0 && --this.#batchDepth === 0) this.#flushBatch();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a frame through the socket's backlog: written now, or held while the socket lags.
   * `sub` and `orderId` mark a change a newer one for the same order may replace meanwhile.
   */
  send(frame: EncodedFrame | ServerFrame, sub?: string, orderId?: number): void {
    if (this.#closed) return;
    const encoded = frame instanceof EncodedFrame ? frame : EncodedFrame.of(frame);
    // Drained since the last look: what the socket can take now goes before this frame.
    if (this.outbox.heldFrames > 0) this.#drain();
    switch (this.outbox.offer(encoded, sub, orderId)) {
      case 'write':
        this.#write(encoded, sub !== undefined && orderId !== undefined);
        return;
      case 'conflated':
        this.stats.conflated++;
        this.#drainLater();
        return;
      case 'held':
        this.#drainLater();
        return;
      case 'overflow':
        this.stats.slowConsumers++;
        this.fail('slow_consumer', 'too many bytes queued; reconnect and resume from your cursor');
        return;
    }
  }

  /** Into the open batch (a change on a socket that asked for batches), or to the socket. */
  #write(frame: EncodedFrame, change: boolean): void {
    if (change && this.batchChanges && this.#batchDepth > 0) {
      this.#batch.push(frame);
      this.#batchChars += frame.text.length;
      if (this.#batchChars >= MAX_BATCH_CHARS) this.#flushBatch();
      return;
    }
    this.#flushBatch();
    this.#toSocket(frame);
  }

  #flushBatch(): void {
    const frames = this.#batch;
    if (frames.length === 0) return;
    this.#batch = [];
    this.#batchChars = 0;
    if (this.#closed) return;
    this.#toSocket(frames.length === 1 ? (frames[0] as EncodedFrame) : batchFrame(frames));
  }

  #toSocket(frame: EncodedFrame): void {
    this.sink.send(frame);
    this.stats.frames++;
    this.stats.bytes += frame.text.length;
  }

  /** Writes the held frames the socket has room for, as one batch; looks again later while any remain. */
  #drain(): void {
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.batch(() => {
      for (const { frame, change } of this.outbox.drain()) this.#write(frame, change);
    });
    if (this.outbox.heldFrames > 0) this.#drainLater();
  }

  #drainLater(): void {
    if (this.#drainTimer !== undefined || this.#closed) return;
    this.#drainTimer = setTimeout(() => this.#drain(), this.outbox.pollMs);
    this.#drainTimer.unref?.();
  }

  error(code: ErrorCode, message: string, sub?: string): void {
    this.send(sub === undefined ? { type: 'error', code, message } : { type: 'error', code, message, sub });
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
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
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
