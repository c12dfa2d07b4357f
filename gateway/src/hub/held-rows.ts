import { type RowVersions, VersionView } from '../snapshot/row-versions.ts';
import { KNOWN_VERSIONS_CAP } from './known-versions.ts';

/**
 * Which orders a subscriber holds, and at which version, exactly as this gateway sent them.
 * Only a change without a before image needs it: the row alone cannot say whether the
 * subscriber had it (an update that may have moved it out of the filter, a delete that names
 * nothing but the key), so such a remove goes to the subscriptions that hold the row and to
 * no other, at the version they hold (a client drops a remove older than its row).
 *
 * Exact or nothing: when this gateway does not know the view (the subscription resumed from
 * a cursor, or it grew past `cap` rows and the ids were dropped to bound memory) it is
 * `unknown`, and the subscription resets at the first remove it cannot place.
 */
export class HeldRows {
  /** Made on the first id: most live subscriptions of an idle socket hold none. */
  #versions: VersionView | undefined;
  #known = true;

  constructor(
    /** Rows tracked at most; as many as a snapshot may send. @default 1_000_000 */
    readonly cap = KNOWN_VERSIONS_CAP,
  ) {}

  /** False when this gateway cannot tell which rows the subscriber holds. */
  get known(): boolean {
    return this.#known;
  }

  add(id: number, version: number): void {
    if (!this.#known) return;
    this.#versions ??= new VersionView();
    this.#versions.set(id, version);
    if (this.#versions.size > this.cap) this.forget();
  }

  /** A snapshot page's rows, shared with every subscriber the page serves; before any {@link add}. */
  addPage(page: RowVersions): void {
    if (!this.#known || page.length === 0) return;
    this.#versions ??= new VersionView();
    this.#versions.addPage(page);
    if (this.#versions.size > this.cap) this.forget();
  }

  delete(id: number): void {
    this.#versions?.delete(id);
  }

  /** The version the subscriber holds of order `id`; undefined when it does not hold it (or that is unknown). */
  versionOf(id: number): number | undefined {
    return this.#versions?.get(id);
  }

  /** The view is not known here (until a snapshot replaces it). */
  forget(): void {
    this.#versions = undefined;
    this.#known = false;
  }

  /** A new snapshot replaces the view: it starts empty and known. */
  clear(): void {
    this.#versions = undefined;
    this.#known = true;
  }
}
