/**
 * Collects work between animation frames and hands it over once per frame, so a burst of
 * a thousand changes costs one layout and one paint instead of a thousand.
 */
export class FrameBatch<T> {
  #items: T[] = [];
  #scheduled = false;
  readonly #flush: (items: T[], now: number) => void;

  constructor(flush: (items: T[], now: number) => void) {
    this.#flush = flush;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    requestAnimationFrame(() => {
      this.#scheduled = false;
      const items = this.#items;
      this.#items = [];
      // Wall-clock time, because commit timestamps come from the database's clock.
      this.#flush(items, Date.now());
    });
  }

  /** Drops queued work that a snapshot is about to supersede. */
  discard(): void {
    this.#items = [];
  }
}
