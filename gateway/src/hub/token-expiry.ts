/** setTimeout fires at once for delays beyond this (about 24.8 days): such waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One pending deadline per socket: the moment its token (plus leeway) runs out. Arming again
 * replaces the deadline, so a refreshed token moves it; `clear` runs when the socket closes.
 */
export class TokenExpiry {
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly onExpired: () => void) {}

  /** `atMs` is wall-clock milliseconds; a deadline already past fires on the next tick. */
  arm(atMs: number): void {
    this.clear();
    const wait = atMs - Date.now();
    if (wait > MAX_TIMER_MS) {
      this.#timer = setTimeout(() => this.arm(atMs), MAX_TIMER_MS);
      return;
    }
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.onExpired();
      },
      Math.max(0, wait),
    );
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
