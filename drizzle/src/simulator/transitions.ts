import type { OrderStatus } from '@orders/contract';

/** Chance that an order still open for cancellation gets cancelled instead of moving on. */
export const cancelChance: Readonly<Partial<Record<OrderStatus, number>>> = { pending: 0.1, paid: 0.05 };

const forward: Readonly<Record<OrderStatus, OrderStatus | null>> = {
  pending: 'paid',
  paid: 'shipped',
  shipped: 'delivered',
  delivered: null,
  cancelled: null,
};

export function isTerminal(status: OrderStatus): boolean {
  return forward[status] === null;
}

/**
 * The status an order moves to next: the happy path pending→paid→shipped→delivered, with
 * an occasional cancellation before shipping. Null once the order can no longer change.
 */
export function nextStatus(status: OrderStatus, random: () => number = Math.random): OrderStatus | null {
  const next = forward[status];
  if (next === null) return null;
  const cancel = cancelChance[status] ?? 0;
  return random() < cancel ? 'cancelled' : next;
}
