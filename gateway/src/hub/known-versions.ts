import type { Order } from '@orders/contract';
import type { ChangeOp } from '@orders/contract/redis';
import type { Visibility } from '../snapshot/visibility.ts';

/**
 * What a subscriber's snapshot already reflects. Replay after the snapshot's cursor can carry
 * changes the snapshot already shows (the snapshot is read after the cursor, and history may
 * lag behind PostgreSQL); those are dropped here.
 *
 * The exact test is the transaction: a change whose transaction the statement that read its
 * row's page saw is in that page, whether the page holds the row or shows it absent (deleted,
 * or moved out of the filter). Changes without a transaction id (from an older worker) and
 * pages without a snapshot fall back to versions and commit times.
 */
export class KnownVersions {
  readonly #versions = new Map<number, number>();
  /** Page i covers the ids above `#pageAfter[i]`, up to `#pageAfter[i + 1]` inclusive. */
  #pageAfter: number[] = [];
  #pageSight: Visibility[] = [];
  #snapshotAt = 0;
  /** Changes committed before this (ms) are reflected in the snapshot, whatever their row. */
  #reflectedBefore = 0;

  /**
   * Records what the statement that read the page after `afterId` saw. Pages must come in
   * id order; consecutive pages read with the same snapshot share one entry.
   */
  pageRead(afterId: number, visibility: Visibility): void {
    if (this.#pageSight.at(-1)?.text === visibility.text) return;
    this.#pageAfter.push(afterId);
    this.#pageSight.push(visibility);
  }

  remember(id: number, version: number): void {
    this.#versions.set(id, version);
  }

  get size(): number {
    return this.#versions.size;
  }

  clear(): void {
    this.#versions.clear();
    this.#pageAfter = [];
    this.#pageSight = [];
    this.#reflectedBefore = 0;
  }

  /**
   * The snapshot is read from PostgreSQL after `startedAt` (ms), so every change committed
   * before it is already in the snapshot. The versions above only cover rows the snapshot
   * holds: when history lags behind PostgreSQL (a worker catching up, e.g. after Redis lost
   * its data), replay after the snapshot's cursor also carries changes of rows deleted (or
   * moved out of the filter) before the snapshot, which no remembered version can stop.
   * `marginMs` absorbs clock skew between PostgreSQL and this gateway and the moment between
   * a commit's timestamp and its visibility.
   */
  snapshotStarted(startedAt: number, marginMs: number): void {
    this.#reflectedBefore = startedAt - marginMs;
  }

  /** Marks when the snapshot was read (ms), for {@link retireBefore}. */
  sealed(at: number): void {
    this.#snapshotAt = at;
  }

  /**
   * Forgets every remembered version once changes committed well after the snapshot flow:
   * by then anything the snapshot already reflected has passed, and without this a large
   * snapshot would pin one entry per row for the life of the subscription. `graceMs`
   * covers clock skew and a lagging partition; should a stale change still come later, the
   * client's merge by version drops it.
   */
  retireBefore(committedAt: number, graceMs: number): void {
    if (this.#versions.size > 0 && this.#snapshotAt > 0 && committedAt > this.#snapshotAt + graceMs) {
      this.#versions.clear();
    }
  }

  /** Whether the subscriber should see this change; forgets the order when it does. */
  admit(op: ChangeOp, row: Order, committedAt: number, txId?: number): boolean {
    if (txId !== undefined && this.#pageSight.length > 0) {
      const sight = this.#sightOf(row.id);
      if (sight?.sees(txId) === true) return false;
    } else if (committedAt < this.#reflectedBefore) return false;
    const known = this.#versions.get(row.id);
    if (known === undefined) return true;
    // A delete carries the deleted row, whose version is the last one the subscriber holds.
    const fresh = op === 'delete' ? row.version >= known : row.version > known;
    if (fresh) this.#versions.delete(row.id);
    return fresh;
  }

  /** The snapshot of the page whose id range holds `id` (binary search over page starts). */
  #sightOf(id: number): Visibility | undefined {
    let low = 0;
    let high = this.#pageAfter.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((this.#pageAfter[mid] as number) < id) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found < 0 ? undefined : this.#pageSight[found];
  }
}
