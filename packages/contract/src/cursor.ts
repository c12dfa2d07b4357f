import { isStreamId } from './stream-id.ts';

/**
 * A client's cursor: the history epoch and a stream id, written `<epoch>.<id>`. Clients treat
 * it as opaque. The epoch makes a cursor from a lost history (Redis data gone, a failover to
 * an empty replica) recognisable: its ids may exist again in the new history with other
 * changes behind them, so only the epoch tells the two apart.
 *
 * With shard groups (`REDIS_SHARDS=S`, S > 1) every group has its own history and epoch, and
 * a cursor is a vector: one `<epoch>.<id>` per group, in group order, joined by
 * {@link CURSOR_SEPARATOR} (`e0.5-0~e1.0-0~e2.7-1`). With one group the cursor is the plain
 * `<epoch>.<id>` it always was.
 *
 * A cursor may end in a fence, `@<WAL position>` (decimal, as Debezium reports `source.lsn`),
 * once for the whole vector. It bounds what the client's view may already show beyond the
 * position: the view came from a snapshot of PostgreSQL read before that WAL position, and
 * history can lag behind PostgreSQL, so a change after the position but written before the
 * fence may already be in the view. A gateway resuming the cursor cannot tell which, so it
 * answers such a change with `reset` instead of sending a version the client passed. Changes
 * at or past the fence are new. {@link UNBOUNDED_FENCE} fences every change.
 */
export interface Cursor {
  epoch: string;
  id: string;
}

/** Joins the per-group positions of a vector cursor; it occurs in no epoch and no stream id. */
export const CURSOR_SEPARATOR = '~';

/**
 * Epochs are written by the worker or a gateway: printable ASCII without spaces and without
 * the vector separator `~` (the worker and the gateways make hex or UUID epochs).
 */
const EPOCH = /^[\x21-\x7d]{1,128}$/;

/** Separates the fence from the positions; it occurs in no stream id. */
export const FENCE_SEPARATOR = '@';

/** The highest WAL position: a fence that no change is past (a view from an unfinished snapshot). */
export const UNBOUNDED_FENCE = 0xffff_ffff_ffff_ffffn;

const FENCE = /^\d{1,20}$/;

/** Vectors longer than this are not parsed (the gateway refuses more shard groups). */
export const MAX_CURSOR_GROUPS = 256;

export function isEpoch(text: string): boolean {
  return EPOCH.test(text);
}

export function formatCursor(epoch: string, id: string): string {
  return `${epoch}.${id}`;
}

/** One position per shard group, in group order; one position is today's plain cursor. */
export function formatCursorVector(positions: readonly Cursor[]): string {
  if (positions.length === 0) throw new Error('a cursor needs at least one position');
  return positions.map((p) => formatCursor(p.epoch, p.id)).join(CURSOR_SEPARATOR);
}

/** `cursor` with `fence` appended; `cursor` alone when there is none. */
export function fenceCursor(cursor: string, fence: bigint | undefined): string {
  return fence === undefined ? cursor : `${cursor}${FENCE_SEPARATOR}${fence}`;
}

export type CursorParse =
  | { kind: 'cursor'; cursor: Cursor; fence?: bigint }
  /** A vector cursor of shard groups (two or more positions, in group order). */
  | { kind: 'vector'; cursors: Cursor[]; fence?: bigint }
  /** A bare stream id, as gateways issued before cursors carried an epoch. */
  | { kind: 'legacy'; id: string }
  | { kind: 'invalid' };

function parseOne(text: string): Cursor | undefined {
  // Stream ids hold no dot, so the last one separates the epoch whatever the epoch holds.
  const dot = text.lastIndexOf('.');
  if (dot < 0) return undefined;
  const epoch = text.slice(0, dot);
  const id = text.slice(dot + 1);
  if (!EPOCH.test(epoch) || !isStreamId(id)) return undefined;
  return { epoch, id };
}

export function parseCursor(text: string): CursorParse {
  // A fence follows the last `@`, and only digits do: an epoch may hold `@`, a stream id not.
  const at = text.lastIndexOf(FENCE_SEPARATOR);
  if (at >= 0 && FENCE.test(text.slice(at + 1))) {
    const fence = BigInt(text.slice(at + 1));
    const parsed = parsePositions(text.slice(0, at));
    if (fence > UNBOUNDED_FENCE || (parsed.kind !== 'cursor' && parsed.kind !== 'vector'))
      return { kind: 'invalid' };
    return { ...parsed, fence };
  }
  return parsePositions(text);
}

function parsePositions(text: string): CursorParse {
  if (text.includes(CURSOR_SEPARATOR)) {
    const parts = text.split(CURSOR_SEPARATOR);
    if (parts.length > MAX_CURSOR_GROUPS) return { kind: 'invalid' };
    const cursors: Cursor[] = [];
    for (const part of parts) {
      const cursor = parseOne(part);
      if (cursor === undefined) return { kind: 'invalid' };
      cursors.push(cursor);
    }
    return { kind: 'vector', cursors };
  }
  if (!text.includes('.')) return isStreamId(text) ? { kind: 'legacy', id: text } : { kind: 'invalid' };
  const cursor = parseOne(text);
  return cursor === undefined ? { kind: 'invalid' } : { kind: 'cursor', cursor };
}

/**
 * The per-group positions of a cursor for a gateway with `groups` shard groups: undefined when
 * its arity differs (a plain cursor with several groups, a vector with one, a vector of
 * another length) or when it is not a cursor with epochs at all.
 */
export function cursorPositions(parsed: CursorParse, groups: number): Cursor[] | undefined {
  if (parsed.kind === 'cursor') return groups === 1 ? [parsed.cursor] : undefined;
  if (parsed.kind === 'vector') return parsed.cursors.length === groups ? parsed.cursors : undefined;
  return undefined;
}

/** Whether a client may send this as a cursor (legacy ones are accepted and answered with `reset`). */
export function isCursorText(text: string): boolean {
  return parseCursor(text).kind !== 'invalid';
}
