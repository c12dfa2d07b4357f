import { z } from 'zod';
import { orderSchema } from '../order.ts';
import { CHANGE_FIELD, type MarkerReason, PREV_FIELD, RESET_FIELD, type StreamChange } from './layout.ts';

/** The {@link StreamChange} schema: what a reader of history or a gateway stream accepts. */
export const streamChangeSchema = z.object({
  op: z.enum(['insert', 'update', 'delete']),
  row: orderSchema,
  before: orderSchema.nullable(),
  committedAt: z.number(),
  txId: z.number().optional(),
  lsn: z.string(),
  kafka: z.object({
    topic: z.string(),
    partition: z.number(),
    offset: z.string(),
    timestamp: z.number(),
  }),
});

// A field added to StreamChange but not to the schema would be stripped by every reader;
// this fails to compile instead.
type Unparsed = Exclude<keyof StreamChange, keyof z.infer<typeof streamChangeSchema>>;
const schemaCoversChange: [Unparsed] extends [never] ? true : Unparsed = true;
void schemaCoversChange;

/** One change as read from history or from the gateway's own stream. */
export interface ChangeEntry {
  id: string;
  change: StreamChange;
}

/** A reset marker: a change set that cannot be expressed as row changes (re-snapshot, truncate), or a change that could not be delivered. */
export interface MarkerEntry {
  id: string;
  reset: MarkerReason;
}

export type StreamEntry = ChangeEntry | MarkerEntry;

export function isMarker(entry: StreamEntry): entry is MarkerEntry {
  return 'reset' in entry;
}

export type EntryParse = { ok: true; entry: ChangeEntry } | { ok: false; id: string; reason: string };

export type StreamEntryParse =
  | {
      ok: true;
      entry: StreamEntry;
      /** The entry the worker appended before this one on the same gateway stream; absent in history and from older workers. */
      prev: string | undefined;
    }
  | { ok: false; id: string; reason: string; prev: string | undefined };

const RESET_REASONS: readonly string[] = ['resnapshot', 'truncate', 'undeliverable'] satisfies MarkerReason[];

/** A change or a reset marker, with the predecessor id when the worker wrote one. */
export function parseStreamEntry(id: string, fields: Record<string, string>): StreamEntryParse {
  const prev = fields[PREV_FIELD];
  const reset = fields[RESET_FIELD];
  if (reset !== undefined) {
    if (!RESET_REASONS.includes(reset))
      return { ok: false, id, reason: `unknown reset reason ${reset}`, prev };
    return { ok: true, entry: { id, reset: reset as MarkerReason }, prev };
  }
  const parsed = parseChangeEntry(id, fields);
  return parsed.ok ? { ok: true, entry: parsed.entry, prev } : { ...parsed, prev };
}

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
