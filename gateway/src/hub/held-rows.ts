/**
 * Which order ids a subscriber holds, as far as this gateway sent them. Only needed for an
 * update without a before image: it may move a row out of the filter, and the row alone cannot
 * say whether the subscriber ever had it. Past `cap` ids the set is dropped and every such
 * remove is sent (harmless for the client), so memory stays bounded for huge views.
 */
export class HeldRows {
  #ids: Set<number> | undefined = new Set();

  constructor(readonly cap: number) {}

  add(id: number): void {
    if (this.#ids === undefined) return;
    this.#ids.add(id);
    if (this.#ids.size > this.cap) this.#ids = undefined;
  }

  delete(id: number): void {
    this.#ids?.delete(id);
  }

  /** True only when the subscriber certainly does not hold the row. */
  lacks(id: number): boolean {
    return this.#ids !== undefined && !this.#ids.has(id);
  }

  /** A new snapshot replaces the view. */
  clear(): void {
    this.#ids = new Set();
  }
}
