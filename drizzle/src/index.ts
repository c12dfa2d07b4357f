export { type Order, type OrderStatus, orderSchema, orderStatuses } from '@orders/contract';
export * from './db.ts';
export { describeError, ensureDatabase, redact, splitDatabaseUrl } from './ensure-database.ts';
export { migrateDatabase, migrationsFolder } from './migrate-database.ts';
export * from './schema.ts';
export { seed } from './seed-orders.ts';
export * from './simulator/index.ts';
