/**
 * The orders table's REPLICA IDENTITY decides what an update or a delete carries of the old
 * row, and so how exactly the gateway can route it. The gateway reads it at start and says
 * what it means for clients; the worker has no database connection and only sees its effect.
 */
import type { Sql } from 'postgres';

export type ReplicaIdentity = 'full' | 'default' | 'index' | 'nothing';

const byCode: Record<string, ReplicaIdentity> = { f: 'full', d: 'default', i: 'index', n: 'nothing' };

/** The table's replica identity, or undefined when the table does not exist (yet). */
export async function readReplicaIdentity(sql: Sql, table = 'orders'): Promise<ReplicaIdentity | undefined> {
  const rows = await sql<{ identity: string }[]>`
    select relreplident as identity from pg_class where oid = to_regclass(${table})`;
  const code = rows[0]?.identity;
  return code === undefined ? undefined : byCode[code];
}

/** What a replica identity means for clients, as one log line and its level. */
export function describeReplicaIdentity(identity: ReplicaIdentity | undefined): {
  level: 'info' | 'warn';
  message: string;
} {
  switch (identity) {
    case 'full':
      return {
        level: 'info',
        message:
          'orders has REPLICA IDENTITY FULL: every update and delete carries the old row; filters are exact',
      };
    case undefined:
      return { level: 'warn', message: 'orders table not found: replica identity unknown' };
    default:
      return {
        level: 'warn',
        message: `orders has REPLICA IDENTITY ${identity.toUpperCase()}: updates and deletes carry at most the key of the old row, so a remove reaches only the subscriptions this gateway knows hold the order, and a subscription resumed from a cursor resets (undeliverable) at the first one it cannot place; ALTER TABLE orders REPLICA IDENTITY FULL makes filtering exact again`,
      };
  }
}
