import type { ChangeOp, Effect, FilterInput, Order } from '@orders/contract';

/**
 * The checker's own reading of PROTOCOL.md's filters and effects ("Effects are exact", "Changes
 * without a before image", "Row-level scoping"), written from the document and not from the
 * gateway's or the contract's code: were both derived from one function, a mistake in it would
 * pass every check.
 */

/** Whose data a socket may see: read from its token, the way the gateway reads it. */
export type Scope = { role: 'staff' } | { role: 'customer'; customer: string };

/** A filter as the client wrote it, after scoping: every present field must hold. */
export type ReferenceFilter = Readonly<FilterInput>;

/**
 * What a subscription must be told of one change: nothing, an upsert, a remove, or (a change
 * without a before image whose row is outside the filter) a remove that only a subscription
 * holding the order may get.
 */
export type ExpectedEffect = Effect | 'none' | 'remove-if-held';

/** The filter a subscribe asks for as the gateway applies it, or `forbidden` (another customer). */
export function scopeFilter(scope: Scope, filter: FilterInput | undefined): ReferenceFilter | 'forbidden' {
  if (scope.role === 'staff') return filter ?? {};
  if (filter?.customer !== undefined && filter.customer !== scope.customer) return 'forbidden';
  return { ...filter, customer: scope.customer };
}

/** Whether an order is in the filter: every field given narrows, an absent one lets all through. */
export function inFilter(filter: ReferenceFilter, order: Order): boolean {
  if (filter.ids !== undefined && !filter.ids.some((id) => id === order.id)) return false;
  if (filter.status !== undefined && !filter.status.some((status) => status === order.status)) return false;
  return filter.customer === undefined || filter.customer === order.customerName;
}

/**
 * The effect PROTOCOL.md prescribes for a change with the given sides: in after it, upsert;
 * in before it and out after, remove; a delete removes what the subscription had. Without a
 * before image the document leaves it to the subscriptions holding the order.
 */
export function expectedEffect(
  filter: ReferenceFilter,
  change: { op: ChangeOp; row: Order; before: Order | null },
): ExpectedEffect {
  const { op, row, before } = change;
  if (op === 'insert') return inFilter(filter, row) ? 'upsert' : 'none';
  if (op === 'delete') {
    if (before === null) return 'remove-if-held';
    return inFilter(filter, before) ? 'remove' : 'none';
  }
  if (inFilter(filter, row)) return 'upsert';
  if (before === null) return 'remove-if-held';
  return inFilter(filter, before) ? 'remove' : 'none';
}

/**
 * A customer's order reassigned away reaches them as a remove whose row is the order as they
 * last saw it (their name, the old product and status) at the new version: judged against the
 * filter that row would be an upsert, so it is recognised by its shape.
 */
export function isRedactedMoveAway(
  scope: Scope,
  change: { op: ChangeOp; effect: Effect; row: Order; before: Order | null },
): boolean {
  const { op, effect, row, before } = change;
  return (
    scope.role === 'customer' &&
    op === 'update' &&
    effect === 'remove' &&
    before !== null &&
    row.customerName === scope.customer &&
    before.customerName === scope.customer &&
    row.productName === before.productName &&
    row.status === before.status &&
    row.version > before.version
  );
}

/**
 * The effect a socket of `scope` must see for a change frame: {@link expectedEffect}, except
 * where scoping hides the row it would be judged by. A customer's order reassigned away shows
 * them their own last view of it ({@link isRedactedMoveAway}); without a before image the
 * gateway has no such view and sends a stand-in in their name, so only the rule for removes
 * without a before image can judge it.
 */
export function expectedEffectOn(
  scope: Scope,
  filter: ReferenceFilter,
  change: { op: ChangeOp; effect: Effect; row: Order; before: Order | null },
): ExpectedEffect {
  if (scope.role === 'customer' && change.op === 'update' && change.effect === 'remove') {
    if (change.before === null) return 'remove-if-held';
    if (isRedactedMoveAway(scope, change)) return 'remove';
  }
  return expectedEffect(filter, change);
}
