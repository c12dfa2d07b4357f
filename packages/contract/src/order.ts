import { z } from 'zod';
import { orderStatuses } from './order-status.ts';

export { type OrderStatus, orderStatuses } from './order-status.ts';

/**
 * An order as every process outside PostgreSQL sees it: camelCase, ISO timestamps.
 * This is the `Order` of wire protocol v1 and of the Redis stream entries.
 */
export const orderSchema = z.object({
  id: z.number().int().positive(),
  customerName: z.string(),
  productName: z.string(),
  status: z.enum(orderStatuses),
  version: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Order = z.infer<typeof orderSchema>;

/** What a change did to an order (Debezium's c/r → insert, u → update, d → delete). */
export type ChangeOp = 'insert' | 'update' | 'delete';
