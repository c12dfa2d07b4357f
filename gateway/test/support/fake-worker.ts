import type { Order, Sql } from '@orders/drizzle';
import { createForwarder, type RedisKeys, type StreamChange } from '@orders/worker';
import type { RedisClient } from '../../src/stream/redis-client.ts';
import { type OrderRecord, readOrders, toOrder } from './order-record.ts';

/**
 * The worker's real Lua fan-out without Kafka behind it: `source` names the stand-in, and
 * since there is no cluster its marks get a cluster id of their own.
 */
export function createStandInForwarder(redis: RedisClient, keys: RedisKeys, source: string, maxlen: number) {
  return createForwarder(
    redis,
    keys,
    { gatewayTtlMs: 10_000, historyMaxlen: maxlen, gatewayMaxlen: maxlen },
    `${source}-cluster`,
  );
}

/**
 * Writes to PostgreSQL and forwards the resulting change through the worker's real Lua
 * fan-out, standing in for Debezium + Kafka: same ids in history and every live gateway stream.
 */
export function createFakeWorker(redis: RedisClient, keys: RedisKeys, sql: Sql) {
  const forwarder = createStandInForwarder(redis, keys, 'fake', 100_000);
  let offset = 0;
  // Debezium emits after commit and in commit order per order; a per-order chain keeps
  // "commit, then forward" from interleaving between two writers of the same order.
  const chains = new Map<number, Promise<unknown>>();
  const serial = <T>(id: number, run: () => Promise<T>): Promise<T> => {
    const next = (chains.get(id) ?? Promise.resolve()).then(run, run);
    chains.set(
      id,
      next.catch(() => {}),
    );
    return next;
  };

  const forward = async (op: StreamChange['op'], row: Order, before: Order | null): Promise<string> => {
    offset++;
    const change: StreamChange = {
      op,
      row,
      before,
      committedAt: Date.now(),
      lsn: String(offset),
      kafka: { topic: 'fake', partition: 0, offset: String(offset), timestamp: Date.now() },
    };
    const result = await forwarder.forward('fake', 0, String(offset), [change]);
    const id = result.ids[0];
    if (id === undefined) throw new Error('change was not forwarded');
    return id;
  };

  return {
    async insert(customer: string, status: Order['status'] = 'pending', product = 'widget'): Promise<Order> {
      const [r] = await sql<OrderRecord[]>`
        insert into orders (customer_name, product_name, status) values (${customer}, ${product}, ${status})
        returning *`;
      if (r === undefined) throw new Error('insert returned nothing');
      const row = toOrder(r);
      await forward('insert', row, null);
      return row;
    },
    update(id: number, set: { status?: Order['status']; customer?: string }): Promise<Order> {
      return serial(id, async () => {
        const [before, after] = await sql.begin(async (tx) => {
          const [old] = await tx<OrderRecord[]>`select * from orders where id = ${id} for update`;
          if (old === undefined) throw new Error(`order ${id} missing`);
          const [r] = await tx<OrderRecord[]>`
            update orders set status = ${set.status ?? old.status}, customer_name = ${set.customer ?? old.customer_name}
            where id = ${id} returning *`;
          if (r === undefined) throw new Error('update returned nothing');
          return [toOrder(old), toOrder(r)] as const;
        });
        await forward('update', after, before);
        return after;
      });
    },
    remove(id: number): Promise<void> {
      return serial(id, async () => {
        const [old] = await sql<OrderRecord[]>`delete from orders where id = ${id} returning *`;
        if (old === undefined) throw new Error(`order ${id} missing`);
        const row = toOrder(old);
        await forward('delete', row, row);
      });
    },
    rows(filter?: (o: Order) => boolean): Promise<Map<number, Order>> {
      return readOrders(sql, filter);
    },
  };
}

export type FakeWorker = ReturnType<typeof createFakeWorker>;
