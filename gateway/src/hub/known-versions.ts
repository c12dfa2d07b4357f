import type { Order } from '@orders/contract';
import type { ChangeOp } from '@orders/contract/redis';

/**
 * Versions a subscriber already holds from its snapshot. Replay after the snapshot's cursor
 * can carry changes the snapshot already reflects (the snapshot is read after the cursor);
 * those are dropped here. Once a newer change for an order has passed, stream order alone
 * guarantees the rest, so the entry is forgotten and the map only shrinks after the snapshot.
 */
export class KnownVersions {
  readonly #versions = new Map<number, number>();
  #snapshotAt = 0;
  /** Changes committed before this (ms) are reflected in the snapshot, whatever their row. */
  #reflectedBefore = 0;

  remember(id: number, version: number): void {
    this.#versions.set(id, version);
  }

  get size(): number {
    return this.#versions.size;
  }

  clear(): void {
    this.#versions.clear();
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
  admit(op: ChangeOp, row: Order, committedAt: number): boolean {
    if (committedAt < this.#reflectedBefore) return false;
    const known = this.#versions.get(row.id);
    if (known === undefined) return true;
    // A delete carries the deleted row, whose version is the last one the subscriber holds.
    const fresh = op === 'delete' ? row.version >= known : row.version > known;
    if (fresh) this.#versions.delete(row.id);
    return fresh;
  }
}
