export interface RateLimitOptions {
  /** Messages a socket may send in a burst. @default 100 */
  burst?: number;
  /** Sustained messages per second. @default 50 */
  perSecond?: number;
  /** Messages refused before the bucket has recovered to half full, after which the socket is closed. @default 100 */
  closeAfter?: number;
}

export type RateDecision = 'allow' | 'refuse' | 'close';

/** The default clock, one for every socket (a bound `performance.now` per limiter cost each socket a function). */
const monotonicNow = (): number => performance.now();

/**
 * Token bucket per socket. A refused message is answered, not silently dropped, so honest
 * clients learn they are too fast; a client that keeps going after `closeAfter` refusals is
 * abusive and cut off, which also bounds how many error frames one socket can cause.
 */
export class RateLimiter {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #closeAfter: number;
  #tokens: number;
  #refused = 0;
  #last: number;

  constructor(
    options: RateLimitOptions = {},
    private readonly now: () => number = monotonicNow,
  ) {
    this.#burst = options.burst ?? 100;
    this.#perMs = (options.perSecond ?? 50) / 1000;
    this.#closeAfter = options.closeAfter ?? 100;
    this.#tokens = this.#burst;
    this.#last = now();
  }

  take(): RateDecision {
    const now = this.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    // Abuse is judged by how empty the bucket stays, not by refusals strictly in a row: a
    // flood at just above the refill rate alternates allowed and refused messages forever.
    if (this.#tokens >= this.#burst / 2) this.#refused = 0;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 'allow';
    }
    return ++this.#refused > this.#closeAfter ? 'close' : 'refuse';
  }
}
