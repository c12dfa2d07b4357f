import type { Order } from '@orders/contract';
import type { StreamChange } from '@orders/contract/redis';

/** Debezium's stand-in for a timestamp column a key-only before image lacks, as the worker normalises it. */
const EPOCH_ISO = '1970-01-01T00:00:00.000Z';

/**
 * Whether the change cannot say which views held its row before it. Under REPLICA IDENTITY
 * DEFAULT an update comes with `before: null`, and a delete with a before image (its `row`
 * too) that holds only the key: Debezium fills the other columns with stand-ins (empty text,
 * the column default, the epoch), which match no customer and possibly the wrong status.
 * A real row that looked like that would be misjudged harmlessly: the remove then goes to
 * exactly the subscriptions holding it, as it should anyway.
 */
export function lacksBeforeImage(change: StreamChange): boolean {
  if (change.before === null) return change.op !== 'insert';
  return change.op === 'delete' && isKeyOnly(change.before);
}

function isKeyOnly(row: Order): boolean {
  return (
    row.customerName === '' &&
    row.productName === '' &&
    row.createdAt === EPOCH_ISO &&
    row.updatedAt === EPOCH_ISO
  );
}

/**
 * A key-only delete as one subscriber must see it: at the version it holds, so the client
 * does not take it for a stale remove, and with no before image to pretend to.
 */
export function heldRowDelete(change: StreamChange, version: number): StreamChange {
  return { ...change, row: { ...change.row, version }, before: null };
}
