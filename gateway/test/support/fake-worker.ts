import { randomUUID } from 'node:crypto';
import { GATEWAY_GROUP, type MarkerReason, type RedisKeys, type StreamChange } from '@orders/contract/redis';
import type { Order, Sql } from '@orders/drizzle';
import { createStandInForwarder, type WorkerRedis, workerScripts } from '@orders/worker/testing';
import type { RedisClient } from '../../src/stream/redis-client.ts';
import { type OrderRecord, readOrders, toOrder } from './order-record.ts';

type EvalOptions = Parameters<WorkerRedis['eval']>[1];

const scriptBodies = new Map(Object.values(workerScripts).map((script) => [script.sha, script.body]));

/**
 * Writes entries as the worker does, through its own forward step and scripts (a stand-in
 * forwarder with marks of its own, one Kafka record per entry), with the faults tests need
 * made by plain Redis commands around the script, in one MULTI with it so that no gateway
 * read, heartbeat or reap comes in between:
 * - a lost copy: the gateway's group is moved past the entry as it is appended, so the
 *   gateway is never handed it, and the copy is deleted (XDEL) once the next entry has named
 *   it as predecessor. That is what a trim does to a gateway that fell behind: the next entry
 *   names one the gateway never read. Deleting the copy at once would not do: the script
 *   names the newest entry still in the stream, so the next entry would name the one before
 *   and the hole would leave no trace the contract promises to show.
 * - a skipped gateway: its registry score is set far in the past for the append, so the
 *   script takes it for one whose heartbeat lapsed and leaves it out, then put back.
 */
export function createContractWriter(redis: RedisClient, keys: RedisKeys, maxlen = 100_000) {
  let lose: string[] = [];
  let skip: string[] = [];
  // Copies hidden from their gateway, deleted after the next append named them.
  let hidden: { stream: string; id: string }[] = [];

  /** The forward script inside a MULTI with the fault commands; returns the script's reply. */
  const faulted = async (body: string, options: EvalOptions): Promise<unknown> => {
    const [losing, skipping, deleting] = [lose, skip, hidden];
    [lose, skip, hidden] = [[], [], []];
    const scores = await Promise.all(skipping.map((gw) => redis.zScore(keys.gateways, gw)));
    const multi = redis.multi();
    for (const gw of skipping) multi.zAdd(keys.gateways, { score: 0, value: gw });
    multi.eval(body, options);
    for (const gw of losing) multi.xGroupSetId(keys.gatewayStream(gw), GATEWAY_GROUP, '$');
    for (const [i, gw] of skipping.entries()) {
      const score = scores[i];
      if (score == null) multi.zRem(keys.gateways, gw);
      else multi.zAdd(keys.gateways, { score, value: gw });
    }
    for (const { stream, id } of deleting) multi.xDel(stream, id);
    const replies = await multi.exec();
    const reply = replies[skipping.length];
    // The forward script's reply: live gateways, two skip counts, then the entry's id.
    const id = Array.isArray(reply) ? reply[3] : undefined;
    if (typeof id === 'string' && id !== '')
      hidden = losing.map((gw) => ({ stream: keys.gatewayStream(gw), id }));
    return reply;
  };
  const quiet = () => lose.length + skip.length + hidden.length === 0;
  const client: WorkerRedis = {
    get isReady() {
      return redis.isReady;
    },
    eval: (body, options) => (quiet() ? redis.eval(body, options) : faulted(body, options)),
    evalSha(sha, options) {
      if (quiet()) return redis.evalSha(sha, options);
      const body = scriptBodies.get(sha);
      if (body === undefined) throw new Error(`not a worker script: ${sha}`);
      return faulted(body, options);
    },
  };
  // Marks of its own, so that no other writer's offsets make it skip anything.
  const forwarder = createStandInForwarder(client, keys, `contract-${randomUUID()}`, maxlen);
  let offset = 0;

  const append = async (change: StreamChange | null, reset: MarkerReason | null): Promise<string> => {
    offset++;
    // A test may drop the namespace: not a loss of writes the worker would have to report.
    forwarder.rejoined();
    const record = { offset: String(offset), change, position: null, snapshotRead: false, reset };
    const result = await forwarder.forwardRecords('contract', 0, String(offset), [record]);
    const id = result.entries[0];
    if (id == null) throw new Error('the forward script appended nothing');
    return id;
  };
  return {
    change: (change: StreamChange): Promise<string> => append(change, null),
    marker: (reason: MarkerReason): Promise<string> => append(null, reason),
    /** The next entry reaches history, but these gateways' copies vanish unread: a hole they must notice. */
    loseNext(...gatewayIds: string[]): void {
      lose.push(...gatewayIds);
    },
    /** The next entry is not appended to these gateways' streams at all, as after a heartbeat lapse. */
    skipNext(...gatewayIds: string[]): void {
      skip.push(...gatewayIds);
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
 * Writes to PostgreSQL and forwards the resulting change through the worker's real forward
 * step, standing in for Debezium + Kafka: same ids in history and every live gateway stream.
 * Given a {@link ContractWriter}, changes go through it, with its faults.
 */
export function createFakeWorker(
  redis: RedisClient,
  keys: RedisKeys,
  sql: Sql,
  writer: ContractWriter = createContractWriter(redis, keys),
) {
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
    return writer.change(change);
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
