import { randomUUID } from 'node:crypto';
import type { RedisKeys, StreamChange } from '@orders/contract/redis';
import { CHANGE_FIELD, PREV_FIELD, RESET_FIELD, type ResetReason } from '@orders/contract/redis';
import type { Order, Sql } from '@orders/drizzle';
import { createStandInForwarder } from '@orders/worker/testing';
import type { RedisClient } from '../../src/stream/redis-client.ts';
import { type OrderRecord, readOrders, toOrder } from './order-record.ts';

/*
 * The shared contract as the worker writes it, for tests that need to shape the streams
 * (lose an entry, write a marker): epoch created with SET NX before appending; one history
 * entry; the same id on every live gateway stream, with `p` naming the entry appended to that
 * stream before (its last generated id, the origin for a new stream).
 * KEYS: history, gateways, epoch. ARGV: ttlMs, gateway stream prefix, epoch candidate, field,
 * value, gateway maxlen, then "lose:<id>" for gateways whose copy is lost at once (as a trim
 * would, before the gateway read it; the stream's last generated id still moves past it) and
 * "skip:<id>" for gateways left out as the worker leaves out one whose heartbeat lapsed.
 */
const CONTRACT_SCRIPT = `
redis.call('SET', KEYS[3], ARGV[3], 'NX')
local id = redis.call('XADD', KEYS[1], '*', ARGV[4], ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fault = {}
for i = 7, #ARGV do fault[string.sub(ARGV[i], 6)] = string.sub(ARGV[i], 1, 4) end
for _, gw in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (now - tonumber(ARGV[1])), '+inf')) do
  if fault[gw] ~= 'skip' then
    local key = ARGV[2] .. gw
    local prev = '0-0'
    if redis.call('EXISTS', key) == 1 then
      local info = redis.call('XINFO', 'STREAM', key)
      for i = 1, #info, 2 do
        if info[i] == 'last-generated-id' then prev = info[i + 1] end
      end
    end
    redis.call('XADD', key, 'MAXLEN', '~', ARGV[6], id, '${PREV_FIELD}', prev, ARGV[4], ARGV[5])
    if fault[gw] == 'lose' then redis.call('XDEL', key, id) end
  end
end
return id
`;

/** Writes entries exactly per the worker contract, with the faults tests need on demand. */
export function createContractWriter(redis: RedisClient, keys: RedisKeys, maxlen = 100_000) {
  let faults: string[] = [];
  const append = async (field: string, value: string): Promise<string> => {
    const next = faults;
    faults = [];
    const id = await redis.eval(CONTRACT_SCRIPT, {
      keys: [keys.history, keys.gateways, keys.epoch],
      arguments: ['10000', keys.gatewayStream(''), randomUUID(), field, value, String(maxlen), ...next],
    });
    if (typeof id !== 'string') throw new Error('contract append returned no id');
    return id;
  };
  return {
    change: (change: StreamChange): Promise<string> => append(CHANGE_FIELD, JSON.stringify(change)),
    marker: (reason: ResetReason): Promise<string> => append(RESET_FIELD, reason),
    /** The next entry reaches history, but these gateways' copies vanish unread: a hole they must notice. */
    loseNext(...gatewayIds: string[]): void {
      faults.push(...gatewayIds.map((id) => `lose:${id}`));
    },
    /** The next entry is not appended to these gateways' streams at all, as after a heartbeat lapse. */
    skipNext(...gatewayIds: string[]): void {
      faults.push(...gatewayIds.map((id) => `skip:${id}`));
    },
  };
}

export type ContractWriter = ReturnType<typeof createContractWriter>;

/**
 * A written row and the WAL insert position read in the same statement (decimal): after the
 * row's change was written and before its commit, so below the fence of any snapshot that
 * sees the change, as a change's `source.lsn` is.
 */
type Written = OrderRecord & { wal: string };

/**
 * Writes to PostgreSQL and forwards the resulting change through the worker's real Lua
 * fan-out, standing in for Debezium + Kafka: same ids in history and every live gateway stream.
 * Given a {@link ContractWriter}, changes go through it instead.
 */
export function createFakeWorker(redis: RedisClient, keys: RedisKeys, sql: Sql, writer?: ContractWriter) {
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

  /** `lsn`: the WAL position read in the writing statement, at or past its change as Debezium would report it. */
  const forward = async (
    op: StreamChange['op'],
    row: Order,
    before: Order | null,
    lsn: string,
  ): Promise<string> => {
    offset++;
    const change: StreamChange = {
      op,
      row,
      before,
      committedAt: Date.now(),
      lsn,
      kafka: { topic: 'fake', partition: 0, offset: String(offset), timestamp: Date.now() },
    };
    if (writer !== undefined) return writer.change(change);
    const result = await forwarder.forward('fake', 0, String(offset), [change]);
    const id = result.ids[0];
    if (id === undefined) throw new Error('change was not forwarded');
    return id;
  };

  return {
    async insert(customer: string, status: Order['status'] = 'pending', product = 'widget'): Promise<Order> {
      const [r] = await sql<Written[]>`
        insert into orders (customer_name, product_name, status) values (${customer}, ${product}, ${status})
        returning *, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text as wal`;
      if (r === undefined) throw new Error('insert returned nothing');
      const row = toOrder(r);
      await forward('insert', row, null, r.wal);
      return row;
    },
    update(id: number, set: { status?: Order['status']; customer?: string }): Promise<Order> {
      return serial(id, async () => {
        const [before, after, wal] = await sql.begin(async (tx) => {
          const [old] = await tx<OrderRecord[]>`select * from orders where id = ${id} for update`;
          if (old === undefined) throw new Error(`order ${id} missing`);
          const [r] = await tx<Written[]>`
            update orders set status = ${set.status ?? old.status}, customer_name = ${set.customer ?? old.customer_name}
            where id = ${id} returning *, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text as wal`;
          if (r === undefined) throw new Error('update returned nothing');
          return [toOrder(old), toOrder(r), r.wal] as const;
        });
        await forward('update', after, before, wal);
        return after;
      });
    },
    remove(id: number): Promise<void> {
      return serial(id, async () => {
        const [old] = await sql<
          Written[]
        >`delete from orders where id = ${id} returning *, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text as wal`;
        if (old === undefined) throw new Error(`order ${id} missing`);
        const row = toOrder(old);
        await forward('delete', row, row, old.wal);
      });
    },
    rows(filter?: (o: Order) => boolean): Promise<Map<number, Order>> {
      return readOrders(sql, filter);
    },
  };
}

export type FakeWorker = ReturnType<typeof createFakeWorker>;
