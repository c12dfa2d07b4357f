/**
 * PostgreSQL writes at a steady rate, each its own transaction (one commit, one Debezium
 * change), spread over a pool so a slow commit does not hold back the schedule.
 */
import type postgres from 'postgres';

const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'] as const;

export const ORDERS = 1_000;

/** The rows every write updates; their inserts reach Kafka before the first round. */
export async function seedOrders(sql: postgres.Sql): Promise<void> {
  await sql`insert into orders (customer_name, product_name)
    select 'customer-' || (g % 50), 'widget' from generate_series(1, ${ORDERS}) g`;
}

export interface WriteRun {
  /** Writes issued in total and after the warm-up. */
  issued: number;
  measured: number;
  /** Writes per second achieved over the whole run. */
  achievedRate: number;
  failed: number;
}

/**
 * Updates random orders at `rate`/s for `warmupS + seconds`; `onMeasure` runs once, at the end
 * of the warm-up. Resolves when every write committed.
 */
export async function writeAt(
  sql: postgres.Sql,
  rate: number,
  warmupS: number,
  seconds: number,
  onMeasure: () => void,
): Promise<WriteRun> {
  const totalWrites = Math.round(rate * (warmupS + seconds));
  const warmupWrites = Math.round(rate * warmupS);
  const pending = new Set<Promise<unknown>>();
  let issued = 0;
  let failed = 0;
  const started = performance.now();
  while (issued < totalWrites) {
    const due = Math.min(totalWrites, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; issued < due; issued++) {
      if (issued === warmupWrites) onMeasure();
      const id = 1 + Math.floor(Math.random() * ORDERS);
      const status = STATUSES[issued % STATUSES.length] ?? 'pending';
      const write: Promise<unknown> = sql`update orders set status = ${status} where id = ${id}`.then(
        () => pending.delete(write),
        () => {
          failed++;
          pending.delete(write);
        },
      );
      pending.add(write);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(pending);
  return {
    issued,
    measured: totalWrites - warmupWrites,
    achievedRate: issued / ((performance.now() - started) / 1000),
    failed,
  };
}
