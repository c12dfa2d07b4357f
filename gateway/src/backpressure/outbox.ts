import type { SocketSink } from '../hub/socket-sink.ts';
import { EncodedFrame } from '../protocol/encoded-frame.ts';

export interface OutboxOptions {
  /**
   * Queued bytes in the socket above which frames are held here instead, so changes to the
   * same order can replace each other. @default 1 MiB
   */
  softBytes?: number;
  /**
   * Socket plus held bytes above which the socket is cut off as a slow consumer; it resumes
   * from its cursor, so cutting costs a reconnect, not data. @default 8 MiB
   */
  hardBytes?: number;
  /** Held frames above which the socket is cut off, bounding the map itself. @default 10000 */
  maxPending?: number;
  /** How often a held socket is checked for room; `ws` has no drain event of its own. @default 20 */
  drainPollMs?: number;
}

/**
 * One socket's outgoing path. While the socket keeps up, frames go straight through. Once
 * it falls behind (buffered bytes above the soft limit) frames are held in order, and a
 * change to an order that already has one held replaces it and moves to the back: the
 * client skips intermediate versions but still sees cursors and per-order versions rise.
 * Anything else (snapshots, `live`, errors) is held in order and never dropped.
 */
export class Outbox {
  /** Made when the socket first falls behind: most sockets never do, and a Map is not free. */
  #held: Map<string | number, EncodedFrame> | undefined;
  #heldBytes = 0;
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #soft: number;
  readonly #hard: number;
  readonly #maxPending: number;
  readonly #pollMs: number;
  /** Changes replaced by a newer one for the same order. */
  conflated = 0;

  constructor(
    private readonly sink: SocketSink,
    /** Hands a frame to the socket (and counts it); `change` marks a change frame. */
    private readonly write: (frame: EncodedFrame, change: boolean) => void,
    /** Called once when the limits are exceeded; the owner closes the socket. */
    private readonly overflow: () => void,
    options: OutboxOptions = {},
    /** Called per replaced change, for metrics. */
    private readonly onConflate: () => void = () => {},
    /** Runs a flush of held frames, so the owner can write them as one batch. */
    private readonly flushing: (run: () => void) => void = (run) => run(),
  ) {
    this.#soft = options.softBytes ?? 1024 * 1024;
    this.#hard = options.hardBytes ?? 8 * 1024 * 1024;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#pollMs = options.drainPollMs ?? 20;
  }

  get heldFrames(): number {
    return this.#held?.size ?? 0;
  }

  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Sends or holds a frame. `sub` and `orderId` mark a change frame that a later change to
   * the same order in the same subscription may replace.
   */
  send(frame: EncodedFrame, sub?: string, orderId?: number): void {
    if (this.heldFrames > 0 && this.sink.bufferedAmount() < this.#soft) {
      // Drained since the last check: catch up now rather than at the next poll.
      this.#flush();
    }
    const change = sub !== undefined && orderId !== undefined;
    if (this.heldFrames === 0 && this.sink.bufferedAmount() < this.#soft) {
      this.write(frame, change);
      return;
    }
    this.#held ??= new Map();
    const held = this.#held;
    const key = change ? `${orderId}\u0000${sub}` : this.#seq++;
    const previous = held.get(key);
    let kept = frame;
    if (previous !== undefined) {
      held.delete(key);
      this.#heldBytes -= previous.text.length;
      this.conflated++;
      this.onConflate();
      kept = conflatedCopy(frame);
    }
    held.set(key, kept);
    this.#heldBytes += kept.text.length;
    if (held.size > this.#maxPending || this.sink.bufferedAmount() + this.#heldBytes > this.#hard) {
      this.clear();
      this.overflow();
      return;
    }
    this.#schedule();
  }

  /**
   * Resolves true once nothing is held and the socket is below the soft limit, so a bulk
   * sender (snapshot, replay) can wait for the client instead of piling frames up to the
   * hard limit; false if `signal` aborts first. Polls like the flush, `ws` has no drain event.
   */
  writable(signal: AbortSignal): Promise<boolean> {
    const ready = () => this.heldFrames === 0 && this.sink.bufferedAmount() < this.#soft;
    if (signal.aborted) return Promise.resolve(false);
    if (ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        clearInterval(timer);
        signal.removeEventListener('abort', aborted);
        resolve(result);
      };
      const aborted = () => done(false);
      const timer = setInterval(() => {
        if (ready()) done(true);
      }, this.#pollMs);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  /** Drops everything held; the socket is gone or being cut off. */
  clear(): void {
    this.#held = undefined;
    this.#heldBytes = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#flush(), this.#pollMs);
    this.#timer.unref?.();
  }

  #flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const held = this.#held;
    if (held === undefined) return;
    this.flushing(() => {
      for (const [key, frame] of held) {
        // Cleared by a write (the socket was cut off): nothing more goes out.
        if (this.#held !== held || this.sink.bufferedAmount() >= this.#soft) break;
        held.delete(key);
        this.#heldBytes -= frame.text.length;
        // Conflatable frames are keyed by order and subscription: those are the changes.
        this.write(frame, typeof key === 'string');
      }
    });
    if (this.heldFrames > 0) this.#schedule();
  }
}

/**
 * The change that replaced a held one, marked `"conflated":true` for this socket alone: the
 * client can tell versions skipped on purpose from a change that went missing. The shared
 * frame is left as it is; only this socket's copy, made on the slow path, carries the mark.
 */
function conflatedCopy(frame: EncodedFrame): EncodedFrame {
  if (frame.text.startsWith('{"conflated":true,') || !frame.text.startsWith('{')) return frame;
  return new EncodedFrame(`{"conflated":true,${frame.text.slice(1)}`);
}
