/**
 * The Redis layout shared by the worker (writer) and the gateways (readers).
 *
 * Every key carries the same hash tag, so the worker's per-batch Lua script touches
 * one slot and stays atomic on a cluster too. `ns` defaults to "orders"; tests use
 * their own namespace so suites never share keys.
 */
import type { Order } from '@orders/drizzle';

export interface RedisKeys {
  /** Capped stream of every change; its entry ids are the clients' cursors. */
  history: string;
  /** Sorted set: gateway id -> last heartbeat (ms since epoch, Redis clock). */
  gateways: string;
  /** Hash: "clusterId/topic:partition" -> highest Kafka offset already forwarded. */
  highWater: string;
  /** The stream the worker fills for one gateway (same entry ids as history). */
  gatewayStream(gatewayId: string): string;
}

export function redisKeys(ns = 'orders'): RedisKeys {
  const tag = `{${ns}}`;
  return {
    history: `${tag}:history`,
    gateways: `${tag}:gateways`,
    highWater: `${tag}:hwm`,
    gatewayStream: (gatewayId) => `${tag}:gw:${gatewayId}`,
  };
}

/** Consumer group every gateway uses on its own stream (consumer name = gateway id). */
export const GATEWAY_GROUP = 'gateway';

/** Stream entry field holding the JSON-encoded {@link StreamChange}. */
export const CHANGE_FIELD = 'c';

export type ChangeOp = 'insert' | 'update' | 'delete';

/**
 * One decoded Debezium change as stored in Redis (field {@link CHANGE_FIELD}).
 * `row` is the state after the change; for a delete it is the deleted row.
 * `before` is the state before (null for inserts and snapshot reads).
 */
export interface StreamChange {
  op: ChangeOp;
  row: Order;
  before: Order | null;
  /** Commit time in PostgreSQL (Debezium `source.ts_ms`). */
  committedAt: number;
  lsn: string;
  kafka: { topic: string; partition: number; offset: string; timestamp: number };
}
