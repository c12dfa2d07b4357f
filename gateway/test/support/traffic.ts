import { type Order, orderStatuses } from '@orders/drizzle';

export interface Writer {
  insert(customer: string, status?: Order['status']): Promise<Order>;
  update(id: number, set: { status?: Order['status']; customer?: string }): Promise<Order>;
  remove(id: number): Promise<void>;
}

export const customers = ['Alice', 'Bob', 'Carol', 'Dave'] as const;

function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('empty');
  return item;
}

/**
 * Continuous random inserts, status moves, reassignments and deletes, `concurrency`
 * writers at a time, until stopped. `more(n)` waits for `n` further writes: tests pace
 * themselves by writes made, never by time. `stop()` returns the number of writes made.
 */
export function startTraffic(writer: Writer, options: { concurrency?: number; pauseMs?: number } = {}) {
  const ids: number[] = [];
  let running = true;
  let writes = 0;
  const waiters: { at: number; resolve: () => void }[] = [];
  const wrote = () => {
    writes++;
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      if (waiter !== undefined && writes >= waiter.at) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  };
  const loop = async () => {
    while (running) {
      const roll = Math.random();
      try {
        if (ids.length < 20 || roll < 0.3) {
          ids.push((await writer.insert(pick(customers), pick(orderStatuses))).id);
        } else if (roll < 0.93) {
          const id = pick(ids);
          await writer.update(
            id,
            Math.random() < 0.8 ? { status: pick(orderStatuses) } : { customer: pick(customers) },
          );
        } else {
          const index = Math.floor(Math.random() * ids.length);
          const [id] = ids.splice(index, 1);
          if (id !== undefined) await writer.remove(id);
        }
        wrote();
      } catch (error) {
        // Two writers may pick the same order; a lost race on a deleted row is not a failure.
        if (!(error instanceof Error && error.message.includes('missing'))) throw error;
      }
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
  };
  const loops = Array.from({ length: options.concurrency ?? 2 }, loop);
  return {
    more(n: number): Promise<void> {
      if (!running) throw new Error('traffic stopped');
      return new Promise((resolve) => waiters.push({ at: writes + n, resolve }));
    },
    async stop(): Promise<number> {
      running = false;
      await Promise.all(loops);
      return writes;
    },
  };
}
