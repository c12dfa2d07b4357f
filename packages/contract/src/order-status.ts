/** Lifecycle of an order; mirrors the `order_status` enum in PostgreSQL. */
export const orderStatuses = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof orderStatuses)[number];
