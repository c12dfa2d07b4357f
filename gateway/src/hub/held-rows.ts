/**
 * Which order ids a subscriber holds, as far as this gateway sent them. Only needed for an
 * update without a before image: it may move a row out of the filter, and the row alone cannot
 * say whether the subscriber ever had it. Past `cap` ids the set is dropped and every such
 * remove is sent (harmless for the client), so memory stays bounded for huge views.
 */
export class HeldRows {
  /** Made on the first id: most live subscriptions of an idle socket hold none. */
  #ids: Set<number> | undefined;
  #overflowed = false;

  constructor(readonly cap: number) {}

  add(id: number): void {
    if (this.#overflowed) return;
    this.#ids ??= new Set();
    this.#ids.add(id);
    if (this.#ids.size > this.cap) {
      this.#ids = undefined;
      this.#overflowed = true;
    }
  }

  delete(id: number): void {
    this.#ids?.delete(id);
  }

  /** True only when the subscriber certainly does not hold the row. */
  lacks(id: number): boolean {
    return !this.#overflowed && this.#ids?.has(id) !== true;
  }

  /** A new snapshot replaces the view. */
  clear(): void {
    this.#ids = undefined;
    this.#overflowed = false;
  }
}
