import { inOwnFrame } from './frame-slots.ts';

/**
 * Collects work between animation frames and hands it over in one piece, so a burst of a
 * thousand changes costs one style, layout and paint pass instead of a thousand.
 *
 * Under sustained traffic the page renders at most once per `minIntervalMs`: every rendering
 * pass has a fixed cost (style, layout, paint, composite) that at 60 passes a second
 * outweighs the changes themselves, while a table updating 20 times a second looks just as
 * live. An isolated change still renders on the next frame that no other job of the page
 * uses (see frame-slots.ts), normally the very next one.
 */
export class FrameBatch<T> {
  #items: T[] = [];
  #scheduled = false;
  #lastFlush = Number.NEGATIVE_INFINITY;
  readonly #flush: (items: T[], now: number) => void;
  readonly #minIntervalMs: number;

  constructor(flush: (items: T[], now: number) => void, minIntervalMs = 0) {
    this.#flush = flush;
    this.#minIntervalMs = minIntervalMs;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    const wait = this.#lastFlush + this.#minIntervalMs - performance.now();
    if (wait <= 0) inOwnFrame(() => this.#run());
    else setTimeout(() => inOwnFrame(() => this.#run()), wait);
  }

  /** Drops queued work that is about to be superseded (all of it, or what `which` selects). */
  discard(which: (item: T) => boolean = () => true): void {
    this.#items = this.#items.filter((item) => !which(item));
  }

  #run(): void {
    this.#scheduled = false;
    this.#lastFlush = performance.now();
    const items = this.#items;
    this.#items = [];
    // Wall-clock time, because commit timestamps come from the database's clock.
    this.#flush(items, Date.now());
  }
}
