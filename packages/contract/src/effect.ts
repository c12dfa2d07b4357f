import { type Filter, matches } from './filter.ts';
import type { ChangeOp, Order } from './order.ts';

/** What a subscriber's view must do with a change; `null` means the change does not concern it. */
export type Effect = 'upsert' | 'remove';

export interface EffectInput {
  op: ChangeOp;
  row: Order;
  before: Order | null;
}

/**
 * Decides the effect of one change on one filter from both sides of the change, so a move
 * into the filter is an upsert and a move out of it a remove.
 */
export function computeEffect(filter: Filter, change: EffectInput): Effect | null {
  switch (change.op) {
    case 'insert':
      return matches(filter, change.row) ? 'upsert' : null;
    case 'update': {
      if (matches(filter, change.row)) return 'upsert';
      // Without a before image (replica identity not FULL) the row alone decides: outside the
      // filter it may have left it, and a missed remove is not harmless. The subscription
      // drops the remove when it knows the subscriber never held the row.
      if (change.before === null || matches(filter, change.before)) return 'remove';
      return null;
    }
    case 'delete': {
      // Only subscribers who had the row are told; `before` is the deleted state when present.
      const had = change.before ?? change.row;
      return matches(filter, had) ? 'remove' : null;
    }
  }
}
