import type { Order, OrderStatus } from '@orders/contract';

export type { Order, OrderStatus };

/**
 * The status list again, because the drizzle package's runtime pulls in a database driver
 * that has no business in a browser bundle. The type check below keeps the two in step.
 */
export const statuses = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'] as const;

type Missing = Exclude<OrderStatus, (typeof statuses)[number]>;
const complete: Missing extends never ? true : Missing = true;
void complete;

export const statusLabels: Record<OrderStatus, string> = {
  pending: 'Pending',
  paid: 'Paid',
  shipped: 'Shipped',
  delivered: 'Delivered',
  cancelled: 'Cancelled',
};
