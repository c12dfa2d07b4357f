/** setTimeout fires at once for delays beyond this (about 24.8 days): such waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a deadline closes once it passes: a socket admitted by a token. */
export interface Expiring {
  tokenExpired(): void;
}

/** One socket's pending deadline; the socket keeps it to move or clear it. */
export class TokenDeadline {
  /** Wall-clock milliseconds; meaningless while not queued. */
  at = 0;
  /** Its place in the queue's heap; -1 while not queued. */
  index = -1;

  constructor(readonly socket: Expiring) {}
}

/**
 * The gateway's token deadlines, one per socket admitted by an expiring token: the moment its
 * token (plus leeway) runs out. One timer serves them all, set for the earliest. A Node timer of
 * its own per socket cost an idle socket a `Timeout`, its closure and, since every token ends
 * at a different moment, a timer list of its own.
 *
 * Arming again replaces a socket's deadline, so a refreshed token moves it; `clear` runs when
 * the socket closes. Deadlines are kept in a binary heap by time, each knowing its place, so
 * moving or clearing one costs a logarithm of the sockets, not a scan.
 */
export class TokenExpiries {
  readonly #heap: TokenDeadline[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer is due (wall clock); undefined without a timer. */
  #timerAt: number | undefined;

  /** Deadlines waiting. */
  get size(): number {
    return this.#heap.length;
  }

  /** `atMs` is wall-clock milliseconds; a deadline already past fires on the next tick. */
  arm(deadline: TokenDeadline, atMs: number): void {
    if (deadline.index >= 0) this.#remove(deadline);
    deadline.at = atMs;
    deadline.index = this.#heap.length;
    this.#heap.push(deadline);
    this.#up(deadline.index);
    this.#schedule();
  }

  clear(deadline: TokenDeadline): void {
    if (deadline.index < 0) return;
    this.#remove(deadline);
    this.#schedule();
  }

  /** Fires every deadline that has passed, earliest first, then waits for the next one. */
  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = undefined;
    const now = Date.now();
    for (let first = this.#heap[0]; first !== undefined && first.at <= now; first = this.#heap[0]) {
      this.#remove(first);
      first.socket.tokenExpired();
    }
    this.#schedule();
  }

  /** Sets the timer for the earliest deadline, unless it is set for it already. */
  #schedule(): void {
    const at = this.#heap[0]?.at;
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === undefined) return;
    const wait = Math.max(0, at - Date.now());
    // Past the longest wait one timer holds, it fires early, finds nothing due and waits again.
    this.#timer = setTimeout(() => this.#fire(), Math.min(wait, MAX_TIMER_MS));
  }

  #remove(deadline: TokenDeadline): void {
    const heap = this.#heap;
    const { index } = deadline;
    const last = heap.pop() as TokenDeadline;
    deadline.index = -1;
    if (last === deadline) return;
    heap[index] = last;
    last.index = index;
    this.#up(index);
    this.#down(last.index);
  }

  #up(index: number): void {
    const heap = this.#heap;
    const moving = heap[index] as TokenDeadline;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as TokenDeadline;
      if (parent.at <= moving.at) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = moving;
    moving.index = index;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const moving = heap[index] as TokenDeadline;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && (heap[right] as TokenDeadline).at < (heap[left] as TokenDeadline).at
          ? right
          : left;
      const next = heap[child] as TokenDeadline;
      if (moving.at <= next.at) break;
      heap[index] = next;
      next.index = index;
      index = child;
    }
    heap[index] = moving;
    moving.index = index;
  }
}
