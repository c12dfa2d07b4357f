import type { Order, OrderStatus } from './order.ts';

/**
 * A subscription's filter after validation. Every field narrows the set; an absent
 * field matches everything. `ids` and `status` are sets so matching is O(1) per event.
 */
export interface Filter {
  status?: ReadonlySet<OrderStatus>;
  customer?: string;
  ids?: ReadonlySet<number>;
}

/** The filter as it travels in a `subscribe` frame. */
export interface FilterInput {
  status?: readonly OrderStatus[];
  customer?: string;
  ids?: readonly number[];
}

export function toFilter(input: FilterInput | undefined): Filter {
  const filter: Filter = {};
  if (input?.status !== undefined) filter.status = new Set(input.status);
  if (input?.customer !== undefined) filter.customer = input.customer;
  if (input?.ids !== undefined) filter.ids = new Set(input.ids);
  return filter;
}

export function matches(filter: Filter, order: Order): boolean {
  if (filter.status !== undefined && !filter.status.has(order.status)) return false;
  if (filter.customer !== undefined && filter.customer !== order.customerName) return false;
  if (filter.ids !== undefined && !filter.ids.has(order.id)) return false;
  return true;
}
