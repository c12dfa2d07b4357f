import type { Filter, Order, OrderStatus } from '@orders/contract';
import type { Sql } from 'postgres';
import type { SnapshotPage, SnapshotSource } from './snapshot-source.ts';
import { Visibility } from './visibility.ts';

/** A page row, or the one all-null row of an empty page that only carries the snapshot. */
type PageRow =
  | {
      snap: string;
      wal: string;
      id: number | string;
      customer_name: string;
      product_name: string;
      status: OrderStatus;
      version: number;
      created_at: Date;
      updated_at: Date;
    }
  | { snap: string; wal: string; id: null };

/**
 * Reads snapshots with the read-only role. Pages are separate statements, each with its own
 * PostgreSQL snapshot, returned with the page: replay after the cursor read before the first
 * page drops exactly the changes a page's statement already saw.
 */
export function createPgSnapshotSource(sql: Sql, options: PgSnapshotOptions = {}): SnapshotSource {
  const graceMs = options.cancelGraceMs ?? 50;
  return {
    async page(filter: Filter, afterId: number, limit: number, signal?: AbortSignal): Promise<SnapshotPage> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await readPage(sql, filter, afterId, limit, signal, graceMs);
        } catch (error) {
          // A cancel request names a backend, not a query: one sent for a query that had
          // just finished can land on the next query that connection runs. Ours was not
          // cancelled, so the page is read again.
          if (signal?.aborted === true || !isCancellation(error) || attempt >= STRAY_CANCEL_RETRIES)
            throw error;
        }
      }
    },
  };
}

export interface PgSnapshotOptions {
  /**
   * How long an aborted page query may still run before it is cancelled. A page is bounded
   * and usually done in milliseconds; a cancel costs PostgreSQL a new connection, so only
   * a query that is stuck (locks, a slow plan) is worth it. @default 50
   */
  cancelGraceMs?: number;
}

/** Stray cancels need a race to land; three in a row on one page means something else is wrong. */
const STRAY_CANCEL_RETRIES = 3;

const isCancellation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && 'code' in error && error.code === '57014';

async function readPage(
  sql: Sql,
  filter: Filter,
  afterId: number,
  limit: number,
  signal: AbortSignal | undefined,
  graceMs: number,
): Promise<SnapshotPage> {
  signal?.throwIfAborted();
  const status = filter.status === undefined ? sql`` : sql`and status::text = any(${[...filter.status]})`;
  const customer = filter.customer === undefined ? sql`` : sql`and customer_name = ${filter.customer}`;
  const ids = filter.ids === undefined ? sql`` : sql`and id = any(${[...filter.ids]}::bigint[])`;
  // One statement, so `pg_current_snapshot()` is the snapshot the rows were read with; the
  // outer join keeps it on an empty page, whose absent rows it vouches for just the same.
  // The WAL insert position is read while the statement runs, after its snapshot was taken:
  // see Visibility for what it settles (it needs the primary, where snapshots are read).
  const query = sql<PageRow[]>`
    select s.snap, s.wal, o.id, o.customer_name, o.product_name, o.status, o.version, o.created_at, o.updated_at
    from (
      select pg_current_snapshot()::text as snap, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text as wal
    ) s
    left join lateral (
      select id, customer_name, product_name, status, version, created_at, updated_at
      from orders
      where id > ${afterId} ${status} ${customer} ${ids}
      order by id
      limit ${limit}
    ) o on true
    order by o.id`;
  // postgres.js sends a cancel request for a running query (it fails with 57014) and
  // drops a queued one, so an abandoned snapshot stops holding a pool connection.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cancel = () => {
    timer = setTimeout(() => void query.cancel(), graceMs);
  };
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    // postgres.js 3.4 does not reset its row counter when a query fails mid-result (as a
    // cancelled one does), so the connection's next result starts with empty slots.
    // `filter` skips them; `map` would keep them as holes.
    const result = (await query).filter(() => true);
    const first = result[0];
    if (first === undefined) throw new Error('snapshot page returned no row, not even its snapshot');
    const rows: Order[] = [];
    for (const row of result) if (row.id !== null) rows.push(toOrder(row));
    return { rows, visibility: Visibility.parse(first.snap, first.wal) };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', cancel);
  }
}

function toOrder(row: Exclude<PageRow, { id: null }>): Order {
  return {
    id: Number(row.id),
    customerName: row.customer_name,
    productName: row.product_name,
    status: row.status,
    version: Number(row.version),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
