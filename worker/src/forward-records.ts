/**
 * What goes into one forward step and what comes out of it: the records of a Kafka chunk, and
 * per chunk the ids, skips and markers, or the news that Redis lost writes of the partition.
 */
import type { MarkerReason, StreamChange } from '@orders/contract/redis';
import type { SourcePosition } from './source-position.ts';

/** One Kafka record for {@link Forwarder.forwardRecords}. */
export interface ForwardRecord {
  offset: string;
  /** The change to append; null for a record that is only a reset marker (TRUNCATE). */
  change: StreamChange | null;
  /** (commit LSN, change LSN); null: the source mark neither skips the record nor moves. */
  position: SourcePosition | null;
  /** A row of a blocking (re-)snapshot: clears the partition's source mark. */
  snapshotRead: boolean;
  /** A reset marker to write (history and gateways, one id) just before the change. */
  reset: MarkerReason | null;
}

export interface ForwardResult {
  /** Stream ids given to the forwarded changes, in input order (markers excluded). */
  ids: string[];
  /** Per input record: its entry id (a marker-only record: the marker's), null when skipped. */
  entries: (string | null)[];
  /** Inputs at or below the offset mark (a Kafka redelivery, already in Redis). */
  skipped: number;
  /** Inputs at or below the source mark (re-sent by Debezium under a new offset). */
  sourceSkipped: number;
  /** Reset markers written. */
  markers: number;
  /** Gateway streams each forwarded change was appended to. */
  gateways: number;
  /**
   * Set when Redis no longer held what this worker had written for the partition (its offset
   * mark went back): nothing was forwarded. `mark` is the offset mark Redis still holds (null:
   * none); `rotated` tells whether this call rotated the epoch (false when an earlier rotation
   * after the lost writes still stands).
   */
  regression?: Regression;
}

/** Redis lost acknowledged writes of a partition: see {@link ForwardResult.regression}. */
export interface Regression {
  topic: string;
  partition: number;
  mark: string | null;
  rotated: boolean;
}
