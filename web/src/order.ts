import { type Order, type OrderStatus, orderStatuses } from '@orders/contract';

export type { Order, OrderStatus };

export const statuses = orderStatuses;

export const statusLabels: Record<OrderStatus, string> = {
  pending: 'Pending',
  paid: 'Paid',
  shipped: 'Shipped',
  delivered: 'Delivered',
  cancelled: 'Cancelled',
};
