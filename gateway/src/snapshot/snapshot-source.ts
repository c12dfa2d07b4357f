import type { Order } from '@orders/drizzle';
import type { Filter } from '../filter/filter.ts';

/** Current rows matching a filter, in id order, read in keyset pages. */
export interface SnapshotSource {
  page(filter: Filter, afterId: number, limit: number): Promise<Order[]>;
}
