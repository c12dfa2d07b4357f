import type { Filter, Order } from '@orders/contract';
import type { Visibility } from './visibility.ts';

/** One keyset page of a snapshot, read in one statement. */
export interface SnapshotPage {
  rows: Order[];
  /**
   * The transactions the page's statement saw. Absent from a source that cannot tell;
   * subscriptions then fall back to versions and commit times to drop replayed changes.
   */
  visibility?: Visibility;
}

/** Current rows matching a filter, in id order, read in keyset pages. */
export interface SnapshotSource {
  /** Stops (rejecting) when `signal` aborts, also mid-query: a cancelled snapshot frees its connection. */
  page(filter: Filter, afterId: number, limit: number, signal?: AbortSignal): Promise<SnapshotPage>;
}
