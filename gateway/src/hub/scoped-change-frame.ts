import type { Effect, Order } from '@orders/contract';
import { changeBody, changeFrame } from '../protocol/change-frame.ts';
import type { EncodedFrame } from '../protocol/encoded-frame.ts';
import type { ChangeFanout } from './change-fanout.ts';

/**
 * The change frame a customer-scoped subscription may receive. Filtering decides *whether*
 * a change concerns the customer; this decides *what* of it they see. A reassignment away
 * carries the new owner in `row`, and one towards them carries the old owner in `before`:
 * those get a redacted frame (built per socket, they are rare), everything else shares the
 * fan-out's bytes.
 */
export function scopedChangeFrame(
  fanout: ChangeFanout,
  sub: string,
  effect: Effect,
  customer: string,
  /** The subscription's own cursor, with shard groups or a fence (see {@link ChangeFanout.frame}). */
  cursor?: string,
  /** The change as this subscriber must see it, when not the entry's own (see {@link ChangeFanout.frame}). */
  change = fanout.entry.change,
): EncodedFrame {
  const foreignBefore = change.before !== null && change.before.customerName !== customer;
  if (change.row.customerName === customer && !foreignBefore) {
    return fanout.frame(sub, effect, cursor, change);
  }
  const row =
    change.row.customerName === customer ? change.row : redactedRow(change.row, change.before, customer);
  const before = foreignBefore ? null : change.before;
  return changeFrame(sub, effect, cursor ?? fanout.cursor, changeBody({ ...change, row, before }));
}

/**
 * A row leaving the customer's view: the state they last saw, at the new version so
 * version ordering still holds. Without a before image nothing but id and version is known
 * to be theirs, so the rest is blanked.
 */
function redactedRow(row: Order, before: Order | null, customer: string): Order {
  const seen = before ?? { ...row, productName: '' };
  return { ...seen, customerName: customer, version: row.version, updatedAt: row.updatedAt };
}
