/**
 * Debezium (JSON converter, schemas disabled) → {@link StreamChange}.
 *
 * Everything that crosses the Kafka boundary is parsed here; the rest of the worker only
 * sees typed changes. Bad data never throws: it comes back as a `poison` result whose
 * reason ends up in the dead-letter headers.
 */
import { type Order, orderSchema } from '@orders/contract';
import type { ChangeOp, MarkerReason, StreamChange } from '@orders/contract/redis';
import { z } from 'zod';
import { type SourcePosition, sourcePosition } from './source-position.ts';

/** Where a record came from; copied into the change so a cursor can be traced back. */
export interface KafkaCoordinates {
  topic: string;
  partition: number;
  offset: string;
  /** Kafka record timestamp in ms (log-append time when the topic is configured so). */
  timestamp: number;
}

export type PoisonReason = 'not_json' | 'invalid_envelope' | 'invalid_row' | 'unsupported_op';

export type IgnoreReason = 'tombstone' | 'heartbeat' | 'message';

/**
 * What the forward step needs besides the change itself.
 * - `position`: null when the record cannot be placed (snapshot reads all share one position;
 *   the first transaction after a fresh start has no commit LSN yet): the source mark neither
 *   skips it nor moves.
 * - `snapshotRead`: a row of a (re-)snapshot. Positions after a snapshot may start over, so
 *   the partition's source mark is cleared when one is forwarded.
 * - `reset`: write a reset marker before this change (the start or end of a snapshot).
 */
export interface SourceInfo {
  position: SourcePosition | null;
  snapshotRead: boolean;
  reset: MarkerReason | null;
}

export type DecodeResult =
  | { kind: 'change'; change: StreamChange; source: SourceInfo }
  /** A change set that rows cannot express (TRUNCATE): only a reset marker is written. */
  | { kind: 'reset'; reason: MarkerReason; position: SourcePosition | null }
  | { kind: 'ignore'; reason: IgnoreReason }
  | { kind: 'poison'; reason: PoisonReason; detail: string };

// ZonedTimestamp in UTC, e.g. 2026-11-26T10:00:00.123456Z (fraction optional, 0-9 digits).
const zonedUtc = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/**
 * Debezium sends timestamptz as an ISO string (ZonedTimestamp) and plain timestamps as
 * epoch microseconds. Both are normalised to `Date#toISOString()` (UTC, milliseconds), the
 * shape the gateway's snapshot rows have, so a client sees one format whatever path a row
 * took. The common UTC string is cut to milliseconds without a Date round trip: this runs
 * four times per update on the hot path.
 */
const timestamp = z.union([z.string(), z.number()]).transform((value, ctx) => {
  if (typeof value === 'string') {
    const match = zonedUtc.exec(value);
    if (match) return `${match[1]}.${(match[2] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
  }
  const date = typeof value === 'number' ? new Date(value / 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) {
    ctx.addIssue({ code: 'custom', message: `not a timestamp: ${String(value)}` });
    return z.NEVER;
  }
  return date.toISOString();
});

// Mirrors `orderSchema` (the shared contract) column by column; kept in one pass instead of
// piping into it, which would validate every row twice.
const rowSchema = z
  .object({
    id: orderSchema.shape.id,
    customer_name: orderSchema.shape.customerName,
    product_name: orderSchema.shape.productName,
    status: orderSchema.shape.status,
    version: orderSchema.shape.version,
    created_at: timestamp,
    updated_at: timestamp,
  })
  .transform(
    (r): Order => ({
      id: r.id,
      customerName: r.customer_name,
      productName: r.product_name,
      status: r.status,
      version: r.version,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }),
  );

const envelopeSchema = z.object({
  op: z.string(),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
  source: z.object({
    ts_ms: z.number(),
    txId: z.number().nullish(),
    lsn: z.union([z.number(), z.string()]).nullish(),
    // Read leniently: an unexpected shape costs the record its deduplication, not its delivery.
    sequence: z.unknown().optional(),
    snapshot: z.unknown().optional(),
  }),
});

/*
 * `source.snapshot` of a snapshot read. Debezium marks the first row of the whole snapshot
 * `first` and its last `last` (per table `first_in_data_collection` and
 * `last_in_data_collection` when several tables are captured), the rows between `true`; a
 * table with a single row has only a `last` one. Incremental snapshots (`incremental`) run
 * beside streaming and are ordinary reads. A marker at both ends covers the single-row table
 * at the price of a second reset for a re-snapshot, which is rare.
 */
const snapshotBoundaries = new Set(['first', 'last', 'first_in_data_collection', 'last_in_data_collection']);

function readSource(op: string, source: z.infer<typeof envelopeSchema>['source']): SourceInfo {
  if (op !== 'r')
    return { position: sourcePosition(source.sequence, source.lsn), snapshotRead: false, reset: null };
  const snapshot = String(source.snapshot ?? 'true');
  if (snapshot === 'incremental') return { position: null, snapshotRead: false, reset: null };
  return {
    position: null,
    snapshotRead: true,
    reset: snapshotBoundaries.has(snapshot) ? 'resnapshot' : null,
  };
}

const changeOps: Record<string, ChangeOp | undefined> = {
  c: 'insert',
  r: 'insert', // snapshot read: the subscriber has never seen the row
  u: 'update',
  d: 'delete',
};

// Logical-decoding messages (pg_logical_emit_message) are not row changes.
const ignoredOps: Record<string, IgnoreReason | undefined> = { m: 'message' };

function poison(reason: PoisonReason, detail: string): DecodeResult {
  return { kind: 'poison', reason, detail };
}

function parseRow(value: unknown, field: 'before' | 'after'): Order | string {
  const result = rowSchema.safeParse(value);
  if (result.success) return result.data;
  return `${field}: ${z.prettifyError(result.error).replaceAll('\n', ' ')}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** No before image, or one where everything but the primary key is missing or null. */
function isKeyOnly(value: unknown): boolean {
  if (value == null) return true;
  if (!isRecord(value)) return false;
  // A loop rather than Object.entries: this runs for every update on the hot path.
  for (const column in value) if (column !== 'id' && value[column] != null) return false;
  return true;
}

export function decodeRecord(value: Buffer | string | null, at: KafkaCoordinates): DecodeResult {
  // Debezium follows a delete with a null-value tombstone for log compaction.
  if (value === null || value.length === 0) return { kind: 'ignore', reason: 'tombstone' };

  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (error) {
    return poison('not_json', error instanceof Error ? error.message : String(error));
  }
  if (json === null) return { kind: 'ignore', reason: 'tombstone' };
  if (!isRecord(json)) return poison('invalid_envelope', `expected an object, got ${typeof json}`);

  // Tolerate a converter left at schemas.enable=true: the envelope is then under `payload`.
  if (isRecord(json.payload) && 'schema' in json) json = json.payload;
  if (!isRecord(json)) return poison('invalid_envelope', 'payload is not an object');

  // Heartbeat records carry nothing but a timestamp.
  if (!('op' in json) && 'ts_ms' in json && Object.keys(json).length === 1) {
    return { kind: 'ignore', reason: 'heartbeat' };
  }

  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) {
    return poison('invalid_envelope', z.prettifyError(envelope.error).replaceAll('\n', ' '));
  }
  const { op, before, after, source } = envelope.data;
  const ignored = ignoredOps[op];
  if (ignored !== undefined) return { kind: 'ignore', reason: ignored };
  // TRUNCATE (emitted with skipped.operations=none) removes rows no change names.
  if (op === 't')
    return { kind: 'reset', reason: 'truncate', position: sourcePosition(source.sequence, source.lsn) };
  const mapped = changeOps[op];
  if (mapped === undefined) return poison('unsupported_op', `op "${op}"`);

  let row: Order | string;
  let previous: Order | string | null = null;
  if (mapped === 'delete') {
    row = parseRow(before, 'before');
  } else {
    row = parseRow(after, 'after');
    // Inserts have no before. An update carries the full old row under REPLICA IDENTITY FULL;
    // under DEFAULT (someone changed it) `before` is null or holds only the key, and the
    // change goes on without it: the gateway then works out the effect from `row` alone.
    if (mapped === 'update' && !isKeyOnly(before)) previous = parseRow(before, 'before');
  }
  if (typeof row === 'string') return poison('invalid_row', row);
  if (typeof previous === 'string') return poison('invalid_row', previous);

  return {
    kind: 'change',
    change: {
      op: mapped,
      row,
      before: mapped === 'delete' ? row : previous,
      committedAt: source.ts_ms,
      txId: source.txId ?? undefined,
      lsn: source.lsn == null ? '' : String(source.lsn),
      kafka: { ...at },
    },
    source: readSource(op, source),
  };
}
