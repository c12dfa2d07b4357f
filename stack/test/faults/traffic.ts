/**
 * Random writes through PostgreSQL, the way applications make them: inserts, status moves,
 * reassignments to another customer, deletes. Debezium, Kafka and the worker carry them on.
 */
import { type OrderStatus, orderStatuses, type Sql } from '@orders/drizzle';

export const customers = ['Alice', 'Bob', 'Carol', 'Dave'] as const;

function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('pick from nothing');
  return item;
}

export interface Traffic {
  /** Committed writes so far. */
  readonly writes: number;
  /** Resolves once at least `count` more writes committed. */
  after(count: number): Promise<void>;
  /** Holds the writers (after their write in flight) until resume(): bounds a burst. */
  pause(): void;
  /** Resolves once every writer waits at the pause (no write in flight). */
  idle(): Promise<void>;
  resume(): void;
  stop(): Promise<number>;
}

/** `concurrency` writers, each pausing `pauseMs` between writes, until stop(). */
export function startTraffic(sql: Sql, options: { concurrency?: number; pauseMs?: number } = {}): Traffic {
  const ids: number[] = [];
  let running = true;
  let writes = 0;
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  let waiting = 0;
  const idleWaiters: (() => void)[] = [];
  const concurrency = options.concurrency ?? 3;
  const waiters: { target: number; resolve: () => void }[] = [];
  const committed = () => {
    writes++;
    for (const w of waiters.filter((w) => w.target <= writes)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const forget = (id: number) => {
    const index = ids.indexOf(id);
    if (index >= 0) ids.splice(index, 1);
  };
  const loop = async () => {
    while (running) {
      if (gate) {
        waiting++;
        if (waiting === concurrency) for (const wake of idleWaiters.splice(0)) wake();
        await gate.promise;
        waiting--;
      }
      if (!running) return;
      const roll = Math.random();
      if (ids.length < 20 || roll < 0.3) {
        const [row] = await sql<{ id: number }[]>`
          insert into orders (customer_name, product_name, status)
          values (${pick(customers)}, ${`widget-${writes % 7}`}, ${pick(orderStatuses)}) returning id`;
        if (row) ids.push(row.id);
        committed();
      } else {
        const id = pick(ids);
        let count: number;
        if (roll < 0.8) {
          count = (
            await sql`update orders set status = ${pick(orderStatuses)}::order_status where id = ${id}`
          ).count;
        } else if (roll < 0.93) {
          count = (await sql`update orders set customer_name = ${pick(customers)} where id = ${id}`).count;
        } else {
          count = (await sql`delete from orders where id = ${id}`).count;
          forget(id);
        }
        // Another writer deleted it, or a TRUNCATE did: forget the id.
        if (count === 0) forget(id);
        else committed();
      }
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    get writes() {
      return writes;
    },
    after(count) {
      return new Promise((resolve) => waiters.push({ target: writes + count, resolve }));
    },
    pause() {
      if (gate) return;
      let open = () => {};
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
    },
    idle() {
      if (gate === undefined) return Promise.reject(new Error('idle() without pause()'));
      if (waiting === concurrency) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    resume() {
      gate?.open();
      gate = undefined;
    },
    async stop() {
      running = false;
      gate?.open();
      await Promise.all(loops);
      for (const w of waiters.splice(0)) w.resolve();
      return writes;
    },
  };
}

/** Rows no later write touches: if their changes are lost, no later change can hide it. */
export async function insertUntouched(
  sql: Sql,
  count: number,
  status: OrderStatus = 'pending',
): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    insert into orders (customer_name, product_name, status)
    select 'Alice', 'untouched', ${status}::order_status from generate_series(1, ${count}) returning id`;
  return rows.map((r) => r.id);
}
