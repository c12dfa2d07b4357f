import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderStatus } from '@orders/contract';
import type { Sql } from '../db.ts';
import { customerNames } from './names.ts';
import { type Action, planBatch, type TrackedOrder } from './plan.ts';

export interface SimulationProgress {
  elapsedMs: number;
  /** Changes committed so far. */
  sent: number;
  /** Failed statements so far. */
  errors: number;
  /** Changes that found their order already gone or moved by someone else (not sent). */
  skipped: number;
  /** Committed changes per second over the last progress interval. */
  rate: number;
  lastError?: string;
}

export interface SimulationSummary extends SimulationProgress {
  /** Committed changes per second over the whole run. */
  averageRate: number;
  byKind: Record<Action['kind'], number>;
  aborted: boolean;
}

export interface SimulateOptions {
  sql: Sql;
  /** Target changes per second. */
  rate: number;
  durationMs: number;
  signal?: AbortSignal;
  onProgress?: (progress: SimulationProgress) => void;
  /** Distinct customers. @default 20 */
  customers?: number;
  /** Orders kept in play. @default 200 */
  poolSize?: number;
  /** Scheduling period; each tick sends what the clock says is due. @default 50 */
  tickMs?: number;
  /** @default 1000 */
  progressIntervalMs?: number;
  /** Injectable for deterministic runs. @default Math.random */
  random?: () => number;
}

/**
 * Generates order traffic at a steady rate: inserts, status moves, customer reassignments and
 * deletes, as separate statements (one Debezium event each). Every tick computes how many
 * changes the wall clock says should exist by now, so a slow tick is caught up by the next
 * one instead of lowering the rate.
 */
export async function simulate(options: SimulateOptions): Promise<SimulationSummary> {
  const { sql, rate, durationMs, signal, onProgress } = options;
  if (!(rate > 0) || !(durationMs > 0)) throw new Error('simulate() needs a positive rate and duration');
  const tickMs = options.tickMs ?? 50;
  const progressIntervalMs = options.progressIntervalMs ?? 1000;
  const random = options.random ?? Math.random;
  const plan = {
    customers: customerNames(options.customers ?? 20),
    poolSize: options.poolSize ?? 200,
    random,
  };
  const total = Math.round((rate * durationMs) / 1000);
  // After a stall, catch up over several ticks (at most 4× the per-tick share), not in one burst.
  const maxBatch = Math.max(1, Math.ceil((rate * tickMs * 4) / 1000));

  const pool = await loadPool(sql, plan.poolSize);
  const counts = { sent: 0, errors: 0, skipped: 0, attempted: 0 };
  const byKind: Record<Action['kind'], number> = { insert: 0, advance: 0, reassign: 0, delete: 0 };
  let lastError: string | undefined;

  const apply = async (action: Action): Promise<void> => {
    try {
      const changed = await execute(sql, pool, action);
      if (changed) {
        counts.sent++;
        byKind[action.kind]++;
      } else counts.skipped++;
    } catch (error) {
      counts.errors++;
      lastError = error instanceof Error ? error.message : String(error);
      // Whatever happened to this order, stop steering it.
      if (action.kind !== 'insert') pool.delete(action.id);
    }
  };

  const start = performance.now();
  const elapsed = () => performance.now() - start;
  let lastReport = { at: 0, sent: 0 };
  const progress = (now: number): SimulationProgress => {
    const windowMs = now - lastReport.at;
    const windowRate = windowMs > 0 ? ((counts.sent - lastReport.sent) * 1000) / windowMs : 0;
    lastReport = { at: now, sent: counts.sent };
    const { sent, errors, skipped } = counts;
    return { elapsedMs: now, sent, errors, skipped, rate: windowRate, ...(lastError ? { lastError } : {}) };
  };

  for (let tick = 1; !signal?.aborted; tick++) {
    const now = elapsed();
    const finished = now >= durationMs;
    const due = (finished ? total : Math.min(Math.floor((rate * now) / 1000), total)) - counts.attempted;
    const batch = Math.min(due, maxBatch);
    if (batch > 0) {
      counts.attempted += batch;
      await Promise.all(planBatch(pool, batch, plan).map(apply));
    }
    if (finished) break;
    if (onProgress && elapsed() - lastReport.at >= progressIntervalMs) onProgress(progress(elapsed()));
    // Aim at fixed points on the clock so per-tick overhead does not accumulate as drift.
    const wait = tick * tickMs - elapsed();
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => {});
    else tick = Math.floor(elapsed() / tickMs);
  }

  const end = elapsed();
  const summary = progress(end);
  return {
    ...summary,
    averageRate: end > 0 ? (counts.sent * 1000) / end : 0,
    byKind,
    aborted: signal?.aborted ?? false,
  };
}

/** Starts from the newest existing orders so a seeded table gets moved along too. */
async function loadPool(sql: Sql, poolSize: number): Promise<Map<number, TrackedOrder>> {
  const rows = await sql<{ id: number; status: OrderStatus; customer_name: string }[]>`
    SELECT id, status, customer_name FROM orders ORDER BY id DESC LIMIT ${poolSize}`;
  return new Map(
    rows.map((row) => [row.id, { id: row.id, status: row.status, customerName: row.customer_name }]),
  );
}

/** Runs one change; false when the order had meanwhile been changed or deleted by someone else. */
async function execute(sql: Sql, pool: Map<number, TrackedOrder>, action: Action): Promise<boolean> {
  switch (action.kind) {
    case 'insert': {
      const [row] = await sql<{ id: number; status: OrderStatus }[]>`
        INSERT INTO orders (customer_name, product_name)
        VALUES (${action.customerName}, ${action.productName})
        RETURNING id, status`;
      if (!row) return false;
      pool.set(row.id, { id: row.id, status: row.status, customerName: action.customerName });
      return true;
    }
    case 'advance': {
      // Conditional on the old status so a concurrent edit never yields e.g. delivered→paid.
      const rows = await sql`
        UPDATE orders SET status = ${action.to}
        WHERE id = ${action.id} AND status = ${action.from} RETURNING id`;
      return track(pool, action.id, rows.count, (order) => {
        order.status = action.to;
      });
    }
    case 'reassign': {
      const rows = await sql`
        UPDATE orders SET customer_name = ${action.customerName} WHERE id = ${action.id} RETURNING id`;
      return track(pool, action.id, rows.count, (order) => {
        order.customerName = action.customerName;
      });
    }
    case 'delete': {
      const rows = await sql`DELETE FROM orders WHERE id = ${action.id} RETURNING id`;
      pool.delete(action.id);
      return rows.count > 0;
    }
  }
}

function track(
  pool: Map<number, TrackedOrder>,
  id: number,
  changed: number,
  update: (order: TrackedOrder) => void,
): boolean {
  const order = pool.get(id);
  if (changed === 0 || !order) {
    pool.delete(id);
    return false;
  }
  update(order);
  return true;
}
