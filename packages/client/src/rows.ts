import type { Order } from '@orders/contract';

/**
 * Applies one change to a subscription's rows by version, so duplicates and stale
 * deliveries are ignored. Returns whether the rows changed.
 */
export function applyChange(rows: Map<number, Order>, effect: 'upsert' | 'remove', row: Order): boolean {
  const current = rows.get(row.id);
  if (effect === 'upsert') {
    if (current !== undefined && current.version >= row.version) return false;
    rows.set(row.id, row);
    return true;
  }
  // A remove carries the row's last version (delete) or its new one (moved out of the filter);
  // a remove older than what is held is stale.
  if (current === undefined || current.version > row.version) return false;
  rows.delete(row.id);
  return true;
}
