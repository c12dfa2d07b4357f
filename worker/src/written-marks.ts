/**
 * What this worker wrote, to notice Redis forgetting it: per mark field the offset mark Redis
 * acknowledged (it is at least that high) and when, on a counter of this worker's own writes
 * and rotations. A rotation of a group's epoch covers every loss of a partition last written
 * before it, as long as that epoch is still in place: if Redis went back past the rotation
 * too, the rotation is lost with the writes and another is due.
 */
import type { Regression } from './forward-records.ts';

export interface WrittenMark {
  topic: string;
  partition: number;
  /** The offset mark Redis acknowledged for the partition. */
  mark: string;
  /** When, on the log's counter. */
  at: number;
}

/** A regression as the scripts report it: -1, the mark Redis holds or "", the new epoch or "". */
export type RegressionReply = [number, string, string];

export interface WrittenMarks {
  get(field: string): WrittenMark | undefined;
  /** Every partition written to since the last join. */
  all(): WrittenMark[];
  set(field: string, topic: string, partition: number, mark: string): void;
  delete(field: string): void;
  /** The epoch of a rotation of `shard` after `since` that still covers a loss, or "". */
  coveringEpoch(shard: number, since: number): string;
  /** Reads a regression reply and records the rotation it made, if any. */
  settle(topic: string, partition: number, shard: number, reply: RegressionReply): Regression;
  /** When the group was last joined, on the log's counter. */
  joinedAt(): number;
  /** The group was joined again: what was written before says nothing about the new owners. */
  rejoined(): void;
}

export function createWrittenMarks(): WrittenMarks {
  let clock = 0;
  let joinedAt = 0;
  const written = new Map<string, WrittenMark>();
  const rotations = new Map<number, { epoch: string; at: number }>();
  return {
    get: (field) => written.get(field),
    all: () => [...written.values()],
    set(field, topic, partition, mark) {
      written.set(field, { topic, partition, mark, at: ++clock });
    },
    delete(field) {
      written.delete(field);
    },
    coveringEpoch(shard, since) {
      const rotation = rotations.get(shard);
      return rotation !== undefined && rotation.at > since ? rotation.epoch : '';
    },
    settle(topic, partition, shard, [, mark, epoch]) {
      if (epoch !== '') rotations.set(shard, { epoch, at: ++clock });
      return { topic, partition, mark: mark === '' ? null : mark, rotated: epoch !== '' };
    },
    joinedAt: () => joinedAt,
    rejoined() {
      written.clear();
      joinedAt = ++clock;
    },
  };
}
