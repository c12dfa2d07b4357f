import type { Sql } from '@orders/drizzle';
import { waitFor } from './wait-for.ts';

type SlotRow = { active: boolean; active_pid: number | null };

async function slot(sql: Sql, name: string): Promise<SlotRow | undefined> {
  const [row] = await sql<SlotRow[]>`
    SELECT active, active_pid FROM pg_replication_slots WHERE slot_name = ${name}`;
  return row;
}

/** True once a client streams from the slot; Debezium starts streaming after its snapshot. */
export async function isSlotActive(sql: Sql, name: string): Promise<boolean> {
  return (await slot(sql, name))?.active ?? false;
}

/**
 * Drops the slot once its consumer has let go. An active slot cannot be dropped, and a leftover
 * slot would both pin WAL forever and block DROP DATABASE.
 */
export async function dropSlot(sql: Sql, name: string, timeoutMs = 30_000): Promise<void> {
  const released = await waitFor(
    async () => {
      const row = await slot(sql, name);
      return row === undefined || !row.active ? true : undefined;
    },
    { description: `replication slot ${name} to be released`, timeoutMs },
  ).catch(() => false);
  if (!released) {
    // The connector is already deleted; whoever still holds the slot is a leftover walsender.
    await sql`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
              WHERE slot_name = ${name} AND active_pid IS NOT NULL`;
    await waitFor(async () => ((await slot(sql, name))?.active ? undefined : true), {
      description: `replication slot ${name} to be released after terminating its walsender`,
      timeoutMs: 10_000,
    });
  }
  await sql`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${name}`;
}
