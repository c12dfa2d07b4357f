import type { Sql } from '@orders/drizzle';

export interface TableLock {
  /** Ends the locking transaction; safe to call more than once. */
  release(): Promise<void>;
}

/**
 * Takes an exclusive lock on `orders` and holds it until `release()`: every snapshot query the
 * gateway runs meanwhile waits inside PostgreSQL, so a test can act while a load is really
 * in flight. Resolves once the lock is held.
 */
export async function lockOrders(sql: Sql): Promise<TableLock> {
  let unlock = () => {};
  const released = new Promise<void>((resolve) => {
    unlock = resolve;
  });
  let held: () => void = () => {};
  const acquired = new Promise<void>((resolve) => {
    held = resolve;
  });
  const transaction = sql.begin(async (tx) => {
    await tx`lock table orders in access exclusive mode`;
    held();
    await released;
  });
  await Promise.race([acquired, transaction]);
  return {
    release: async () => {
      unlock();
      await transaction;
    },
  };
}
