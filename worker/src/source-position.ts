/** A record's place in PostgreSQL's commit order, read from Debezium's `source`. */

/**
 * Where a change sits in PostgreSQL's commit order: the commit LSN Debezium last saw and the
 * change's own LSN, both canonical decimals. Within a Kafka partition Debezium emits in this
 * order, so a position at or below one already forwarded is a re-sent record.
 */
export interface SourcePosition {
  commit: string;
  change: string;
}

// `source.sequence` is a JSON string `["<last commit LSN>","<LSN>"]`, entries possibly null.
// A regex instead of JSON.parse: this runs once per record on the hot path.
const sequencePattern = /^\[\s*(?:"(\d+)"|(\d+)|null)\s*,\s*(?:"(\d+)"|(\d+)|null)\s*\]$/;

// Leading zeros would break the length-first comparison in the forward script.
const canonical = (digits: string) =>
  digits.length > 1 && digits.charCodeAt(0) === 48 ? digits.replace(/^0+(?=\d)/, '') : digits;

/** (commit LSN, change LSN), or null when either is unknown. */
export function sourcePosition(
  sequence: unknown,
  lsn: string | number | null | undefined,
): SourcePosition | null {
  if (typeof sequence !== 'string') return null;
  const match = sequencePattern.exec(sequence);
  if (!match) return null;
  const commit = match[1] ?? match[2];
  const change =
    match[3] ?? match[4] ?? (lsn == null || !/^\d+$/.test(String(lsn)) ? undefined : String(lsn));
  if (commit === undefined || change === undefined) return null;
  return { commit: canonical(commit), change: canonical(change) };
}
