import { orderSchema } from '@orders/drizzle';
import { CHANGE_FIELD, type StreamChange } from '@orders/worker/contract';
import { z } from 'zod';

const streamChangeSchema = z.object({
  op: z.enum(['insert', 'update', 'delete']),
  row: orderSchema,
  before: orderSchema.nullable(),
  committedAt: z.number(),
  lsn: z.string(),
  kafka: z.object({
    topic: z.string(),
    partition: z.number(),
    offset: z.string(),
    timestamp: z.number(),
  }),
});

/** One change as read from history or from the gateway's own stream. */
export interface ChangeEntry {
  id: string;
  change: StreamChange;
}

export type EntryParse = { ok: true; entry: ChangeEntry } | { ok: false; id: string; reason: string };

/** Validates an entry written by the worker; a bad one is reported, never thrown. */
export function parseChangeEntry(id: string, fields: Record<string, string>): EntryParse {
  const raw = fields[CHANGE_FIELD];
  if (raw === undefined) return { ok: false, id, reason: `missing field ${CHANGE_FIELD}` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, id, reason: 'invalid JSON' };
  }
  const parsed = streamChangeSchema.safeParse(json);
  if (!parsed.success) return { ok: false, id, reason: z.prettifyError(parsed.error) };
  return { ok: true, entry: { id, change: parsed.data } };
}
