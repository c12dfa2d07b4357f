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
 * What {@link Outbox.offer} decided: write the frame now, it is held (and replaced an older
 * change to the same order: `conflated`), or the socket is past its limits and must be cut off.
 */
export type OutboxVerdict = 'write' | 'held' | 'conflated' | 'overflow';

/** A held frame that may leave now; `change` marks a change frame (it may join a batch). */
export interface Writable {
  frame: EncodedFrame;
  change: boolean;
}

/**
 * One socket's backlog. While the socket keeps up, every frame is written straight through.
 * Once it falls behind (buffered bytes above the soft limit) frames are held in order, and a
 * change to an order that already has one held replaces it and moves to the back: the client
 * skips intermediate versions but still sees cursors and per-order versions rise. Anything
 * else (snapshots, `live`, errors) is held in order and never dropped. It only decides and
 * keeps: the connection writes what it is told to, and polls {@link drain} while frames are held.
 */
export class Outbox {
  /** Made when the socket first falls behind: most sockets never do, and a Map is not free. */
  #held: Map<string | number, EncodedFrame> | undefined;
  #heldBytes = 0;
  #seq = 0;
  readonly #soft: number;
  readonly #hard: number;
  readonly #maxPending: number;
  /** How often the connection should call {@link drain} while frames are held. */
  readonly pollMs: number;
  /** Changes this socket had replaced by a newer one for the same order. */
  conflated = 0;

  constructor(
    private readonly socket: { bufferedAmount(): number },
    options: OutboxOptions = {},
  ) {
    this.#soft = options.softBytes ?? 1024 * 1024;
    this.#hard = options.hardBytes ?? 8 * 1024 * 1024;
    this.#maxPending = options.maxPending ?? 10_000;
    this.pollMs = options.drainPollMs ?? 20;
  }

  get heldFrames(): number {
    return this.#held?.size ?? 0;
  }

  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Whether a frame written now would go straight out: nothing held, the socket below the soft limit. */
  #open(): boolean {
    return this.heldFrames === 0 && this.socket.bufferedAmount() < this.#soft;
  }

  /**
   * Decides what happens to a frame. `sub` and `orderId` mark a change frame that a later
   * change to the same order in the same subscription may replace. Call {@link drain} first
   * when frames are held, so what the socket can take now is not held behind this one.
   */
  offer(frame: EncodedFrame, sub?: string, orderId?: number): OutboxVerdict {
    if (this.#open()) return 'write';
    const change = sub !== undefined && orderId !== undefined;
    this.#held ??= new Map();
    const held = this.#held;
    const key = change ? `${orderId}\u0000${sub}` : this.#seq++;
    const previous = held.get(key);
    let kept = frame;
    if (previous !== undefined) {
      held.delete(key);
      this.#heldBytes -= previous.text.length;
      this.conflated++;
      kept = conflatedCopy(frame);
    }
    held.set(key, kept);
    this.#heldBytes += kept.text.length;
    if (held.size > this.#maxPending || this.socket.bufferedAmount() + this.#heldBytes > this.#hard) {
      this.clear();
      return 'overflow';
    }
    return previous === undefined ? 'held' : 'conflated';
  }

  /**
   * Takes the held frames the socket has room for, oldest first, one at a time: the caller
   * writes each before the next is taken, so the room is measured after every write. Stops when
   * the socket is above the soft limit again, or when {@link clear} ran meanwhile.
   */
  *drain(): Generator<Writable> {
    const held = this.#held;
    if (held === undefined) return;
    for (const [key, frame] of held) {
      if (this.#held !== held || this.socket.bufferedAmount() >= this.#soft) return;
      held.delete(key);
      this.#heldBytes -= frame.text.length;
      // Conflatable frames are keyed by order and subscription: those are the changes.
      yield { frame, change: typeof key === 'string' };
    }
  }

  /**
   * Resolves true once nothing is held and the socket is below the soft limit, so a bulk
   * sender (snapshot, replay) can wait for the client instead of piling frames up to the
   * hard limit; false if `signal` aborts first. Polls, as `ws` has no drain event.
   */
  writable(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#open()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        clearInterval(timer);
        signal.removeEventListener('abort', aborted);
        resolve(result);
      };
      const aborted = () => done(false);
      const timer = setInterval(() => {
        if (this.#open()) done(true);
      }, this.pollMs);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  /** Drops everything held; the socket is gone or being cut off. */
  clear(): void {
    this.#held = undefined;
    this.#heldBytes = 0;
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
