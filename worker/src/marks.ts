/**
 * The arithmetic of the worker's two marks, as the forward scripts do it. An offset mark is
 * the highest Kafka offset forwarded from a partition; a source mark is the highest
 * PostgreSQL position forwarded from it, `<commit>/<change>`, with the identities of the
 * changes forwarded at exactly that position (`<commit>/<change> c42 d17 …`). Offsets and
 * LSNs are 64-bit, so they are compared as canonical decimal strings (length first), as Lua,
 * whose numbers are doubles, compares them too.
 */

import type { ForwardRecord } from './forward-records.ts';
import type { SourcePosition } from './source-position.ts';

/** `a > b` for canonical decimal strings. */
export function decimalAbove(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

/** `a >= b` for non-negative decimal offsets (int64 does not fit a double). */
export function offsetAtLeast(a: string, b: string): boolean {
  return BigInt(a) >= BigInt(b);
}

/** `a > b` for source positions: the commit LSN first, then the change LSN. */
export function positionAbove(a: SourcePosition, b: SourcePosition): boolean {
  if (a.commit !== b.commit) return decimalAbove(a.commit, b.commit);
  return decimalAbove(a.change, b.change);
}

export function samePosition(a: SourcePosition, b: SourcePosition): boolean {
  return a.commit === b.commit && a.change === b.change;
}

const opLetters = { insert: 'c', update: 'u', delete: 'd' } as const;

/**
 * What tells a change apart from every other change at its source position: the operation
 * and the order id (the old id for the delete half of a key change, the new one for its
 * create half). One WAL record never holds two changes of one row with one operation: a
 * multi-insert record holds distinct rows (the primary key is unique), and every other
 * record holds one change. A marker-only record (TRUNCATE) is `t`.
 */
export function changeIdentity(record: Pick<ForwardRecord, 'change'>): string {
  const { change } = record;
  return change === null ? 't' : `${opLetters[change.op]}${change.row.id}`;
}

/**
 * The records' positions and identities as the ordered forward script takes them
 * ("commit/change/identity"), or null when the chunk does not fit it: a marker, a snapshot
 * read, a record without a position, a position lower than the one before it, or an
 * identity twice at one position (Debezium re-sending within the chunk). The general script
 * handles those record by record.
 */
export function orderedPositions(records: readonly ForwardRecord[]): string[] | null {
  const positions: string[] = [];
  let previous: SourcePosition | null = null;
  const atPrevious = new Set<string>();
  for (const record of records) {
    const { position } = record;
    if (record.change === null || record.reset !== null || record.snapshotRead || position === null)
      return null;
    const identity = changeIdentity(record);
    if (previous === null || !samePosition(position, previous)) {
      if (previous !== null && !positionAbove(position, previous)) return null;
      atPrevious.clear();
    } else if (atPrevious.has(identity)) return null;
    atPrevious.add(identity);
    positions.push(`${position.commit}/${position.change}/${identity}`);
    previous = position;
  }
  return positions.length > 0 ? positions : null;
}

/**
 * The mark's field in `{ns}:hwm` (and in `{ns}:src`). Offsets only mean something within one
 * incarnation of a Kafka cluster: a recreated cluster (fresh KRaft storage) restarts every
 * partition at 0, and a mark kept from the old one would skip every new record up to it.
 * Prefixing the cluster id makes the old marks unreachable instead. (A topic recreated within
 * the same cluster keeps the field; `dropStaleMark` handles that.)
 */
export function markField(clusterId: string, topic: string, partition: number): string {
  return `${topicMarkPrefix(clusterId, topic)}${partition}`;
}

/** What every mark field of `topic`'s partitions starts with (a re-snapshot clears them all). */
export function topicMarkPrefix(clusterId: string, topic: string): string {
  return `${clusterId}/${topic}:`;
}
