import type { StreamChange } from '@orders/contract/redis';
import { type RowVersions, VersionView } from '../snapshot/row-versions.ts';
import type { Visibility } from '../snapshot/visibility.ts';

/** Snapshot rows one subscription may hold versions for; see {@link KnownVersions.rememberPage}. */
export const KNOWN_VERSIONS_CAP = 1_000_000;

/**
 * What a subscriber's snapshot already reflects. Replay after the snapshot's cursor can carry
 * changes the snapshot already shows (the snapshot is read after the cursor, and history may
 * lag behind PostgreSQL); those are dropped here.
 *
 * The exact test is the transaction: a change whose transaction the statement that read its
 * row's page saw is in that page, whether the page holds the row or shows it absent (deleted,
 * or moved out of the filter). Changes without a transaction id (from an older worker) and
 * pages without a snapshot fall back to versions and commit times.
 *
 * What it holds is retired with what it protects against:
 * - a row's version, once a newer change for the row passes (and all of them once live
 *   changes commit well after the snapshot, {@link retireBefore});
 * - the pages, for one Kafka partition at a time. A partition carries its changes in commit
 *   order, and the pages' snapshots are taken in page order, so once a partition delivers a
 *   change that page `i` does not see (it committed after that page was read), every later
 *   change of that partition committed after pages `0..i` were read too: those pages are
 *   never asked about the partition again ({@link passed}). Without this a page would keep
 *   judging 32-bit transaction ids for as long as the subscription lives, and past 2^31
 *   transactions it would take new ones for old (see {@link Visibility}).
 * The pages themselves stay until the next snapshot: which partitions exist is not known
 * here, so no change can prove that every one has passed. They are few (one per page read
 * with another snapshot, and the rows they cover count against the cap).
 */
export class KnownVersions {
  /**
   * Made on the first row remembered, and dropped once retired. The maps are made when first
   * needed: most subscriptions of idle sockets hold no rows (an empty snapshot, or versions
   * retired long ago) and no partition passes, and an empty Map is not free.
   */
  #versions: VersionView | undefined;
  /** Page i covers the ids above `#pageAfter[i]`, up to `#pageAfter[i + 1]` inclusive. */
  #pageAfter: number[] = [];
  #pageSight: Visibility[] = [];
  /** Per Kafka partition, the last page its changes have passed (pages up to it see none of them). */
  #passed: Map<number, number> | undefined;
  #snapshotAt = 0;
  /** Changes committed before this (ms) are reflected in the snapshot, whatever their row. */
  #reflectedBefore = 0;

  constructor(
    /** Snapshot rows whose versions it holds at most. @default 1_000_000 */
    readonly cap = KNOWN_VERSIONS_CAP,
  ) {}

  /**
   * Records what the statement that read the page after `afterId` saw. Pages must come in
   * id order; consecutive pages read with the same snapshot share one entry (the first
   * one's WAL position: the same snapshot means no transaction ended in between).
   */
  pageRead(afterId: number, visibility: Visibility): void {
    if (this.#pageSight.at(-1)?.text === visibility.text) return;
    this.#pageAfter.push(afterId);
    this.#pageSight.push(visibility);
  }

  /**
   * The WAL position every page was read before: no change written at or past it is in the
   * snapshot. Undefined when there are no pages, or one lacks its position (nothing bounds
   * what the snapshot may show then).
   */
  get fence(): bigint | undefined {
    let fence: bigint | undefined;
    for (const sight of this.#pageSight) {
      const { walEnd } = sight;
      if (walEnd === undefined) return undefined;
      if (fence === undefined || walEnd > fence) fence = walEnd;
    }
    return fence;
  }

  /**
   * Remembers a snapshot page's rows at once: the page's packed versions are shared with
   * every subscriber it serves, not copied. False, remembering none of them, when they would
   * take it past `cap`: those rows must not be sent, since nothing could then tell their
   * replayed changes from new ones. The caller refuses the subscription (another snapshot of
   * the same filter would not fit either).
   */
  rememberPage(page: RowVersions): boolean {
    if ((this.#versions?.size ?? 0) + page.length > this.cap) return false;
    if (page.length === 0) return true;
    this.#versions ??= new VersionView();
    this.#versions.addPage(page);
    return true;
  }

  get size(): number {
    return this.#versions?.size ?? 0;
  }

  /** The last page partition `partition` has passed; -1 when it has passed none. */
  passed(partition: number): number {
    return this.#passed?.get(partition) ?? -1;
  }

  clear(): void {
    this.#versions = undefined;
    this.#pageAfter = [];
    this.#pageSight = [];
    this.#passed = undefined;
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

  /**
   * Marks when the snapshot was read (ms), for {@link retireBefore}. Its pages are all read by
   * then: they are kept in arrays of their exact length, without the room for more that
   * growing them left (most snapshots of an idle socket are one page, which `push` gave room
   * for sixteen).
   */
  sealed(at: number): void {
    this.#snapshotAt = at;
    this.#pageAfter = this.#pageAfter.slice();
    this.#pageSight = this.#pageSight.slice();
  }

  /**
   * Forgets every remembered version once changes committed well after the snapshot flow:
   * by then anything the snapshot already reflected has passed, and without this a large
   * snapshot would pin one entry per row for the life of the subscription. `graceMs`
   * covers clock skew and a lagging partition; should a stale change still come later, the
   * client's merge by version drops it.
   */
  retireBefore(committedAt: number, graceMs: number): void {
    if (this.#versions !== undefined && this.#snapshotAt > 0 && committedAt > this.#snapshotAt + graceMs) {
      this.#versions = undefined;
    }
  }

  /** Whether the subscriber should see this change; forgets the order when it does. */
  admit(change: StreamChange): boolean {
    const { op, row, committedAt, txId } = change;
    if (txId !== undefined && this.#pageSight.length > 0) {
      if (this.#seen(change, txId)) return false;
    } else if (committedAt < this.#reflectedBefore) return false;
    const known = this.#versions?.get(row.id);
    if (known === undefined) return true;
    // A delete carries the deleted row, whose version is the last one the subscriber holds.
    const fresh = op === 'delete' ? row.version >= known : row.version > known;
    if (fresh) this.#versions?.delete(row.id);
    return fresh;
  }

  /** Whether the page covering the change's order saw its transaction; records a partition's pass. */
  #seen(change: StreamChange, txId: number): boolean {
    const { partition } = change.kafka;
    const page = this.#pageOf(change.row.id);
    if (page < 0) return false;
    const passed = this.passed(partition);
    if (page <= passed) return false;
    if ((this.#pageSight[page] as Visibility).sees(txId, change.lsn)) return true;
    this.#passed ??= new Map();
    this.#passed.set(partition, page);
    return false;
  }

  /** The index of the page whose id range holds `id` (binary search over page starts); -1 for none. */
  #pageOf(id: number): number {
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
    return found;
  }
}
