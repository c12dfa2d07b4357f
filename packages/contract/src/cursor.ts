import { isStreamId } from './stream-id.ts';

/**
 * A client's cursor: the history epoch and a stream id, written `<epoch>.<id>`. Clients treat
 * it as opaque. The epoch makes a cursor from a lost history (Redis data gone, a failover to
 * an empty replica) recognisable: its ids may exist again in the new history with other
 * changes behind them, so only the epoch tells the two apart.
 */
export interface Cursor {
  epoch: string;
  id: string;
}

/** Epochs are written by the worker or a gateway; anything printable without spaces is taken. */
const EPOCH = /^[\x21-\x7e]{1,128}$/;

export function formatCursor(epoch: string, id: string): string {
  return `${epoch}.${id}`;
}

export type CursorParse =
  | { kind: 'cursor'; cursor: Cursor }
  /** A bare stream id, as gateways issued before cursors carried an epoch. */
  | { kind: 'legacy'; id: string }
  | { kind: 'invalid' };

export function parseCursor(text: string): CursorParse {
  // Stream ids hold no dot, so the last one separates the epoch whatever the epoch holds.
  const dot = text.lastIndexOf('.');
  if (dot < 0) return isStreamId(text) ? { kind: 'legacy', id: text } : { kind: 'invalid' };
  const epoch = text.slice(0, dot);
  const id = text.slice(dot + 1);
  if (!EPOCH.test(epoch) || !isStreamId(id)) return { kind: 'invalid' };
  return { kind: 'cursor', cursor: { epoch, id } };
}

/** Whether a client may send this as a cursor (legacy ones are accepted and answered with `reset`). */
export function isCursorText(text: string): boolean {
  return parseCursor(text).kind !== 'invalid';
}
