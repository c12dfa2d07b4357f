import { splitStreamId } from '@orders/contract';
import type { MarkerReason } from '@orders/contract/redis';

/**
 * A reset marker on its way to subscriptions. It travels the same paths as changes (live,
 * buffered while loading, replayed from history) so it is met at its place in the stream.
 */
export class MarkerEvent {
  readonly ms: number;
  readonly seq: number;

  constructor(
    readonly id: string,
    readonly reason: MarkerReason,
    readonly epoch: string,
    /** The shard group whose history holds the marker (0 without shard groups). */
    readonly group = 0,
  ) {
    [this.ms, this.seq] = splitStreamId(id);
  }
}
