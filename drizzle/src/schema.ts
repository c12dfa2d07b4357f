import { orderStatuses } from '@orders/contract';
import { index, integer, pgEnum, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const orderStatusEnum = pgEnum('order_status', orderStatuses);

/**
 * The one table the whole system streams. `version` and `updated_at` are maintained by a
 * trigger (see the `cdc_setup` migration), so writers outside drizzle keep them right too.
 */
export const orders = pgTable(
  'orders',
  {
    // By default (not always) so fixtures and replays may insert explicit ids.
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    customerName: text('customer_name').notNull(),
    productName: text('product_name').notNull(),
    status: orderStatusEnum('status').notNull().default('pending'),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    index('orders_status_idx').on(table.status),
    index('orders_customer_name_idx').on(table.customerName),
  ],
);

export type OrderRow = typeof orders.$inferSelect;
export type NewOrderRow = typeof orders.$inferInsert;
