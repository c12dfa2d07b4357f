import type { Filter, Order } from '@orders/contract';

/** Current rows matching a filter, in id order, read in keyset pages. */
export interface SnapshotSource {
  /** Stops (rejecting) when `signal` aborts, also mid-query: a cancelled snapshot frees its connection. */
  page(filter: Filter, afterId: number, limit: number, signal?: AbortSignal): Promise<Order[]>;
}
