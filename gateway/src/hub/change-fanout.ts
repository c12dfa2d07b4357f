import type { Effect } from '@orders/contract';
import { formatCursor, splitStreamId } from '@orders/contract';
import type { ChangeEntry } from '@orders/contract/redis';
import { type ChangeContent, changeBody, changeFrame } from '../protocol/change-frame.ts';
import type { EncodedFrame } from '../protocol/encoded-frame.ts';

/**
 * Builds the `change` frames of one event lazily and caches them by (effect, sub id).
 * Subscription ids are chosen by clients and mostly repeat ("s1"), so a whole fan-out
 * usually serializes one or two frames and every socket gets the same bytes.
 */
export class ChangeFanout {
  readonly #frames = new Map<string, EncodedFrame>();
  #body: string | undefined;
  // The last frame handed out: consecutive subscribers nearly always ask for the same one,
  // and this spares the cache key string per delivery.
  #lastSub: string | undefined;
  #lastEffect: Effect | undefined;
  #lastFrame: EncodedFrame | undefined;
  /** The entry id's numeric parts, parsed once for every subscription's position check. */
  readonly ms: number;
  readonly seq: number;
  /** The client-facing position of this event: its id in the history of `epoch`. */
  readonly cursor: string;

  constructor(
    readonly entry: ChangeEntry,
    /** The history this entry belongs to; a subscription of another epoch never takes it. */
    readonly epoch: string,
    /** The shard group whose history holds the entry (0 without shard groups). */
    readonly group = 0,
  ) {
    [this.ms, this.seq] = splitStreamId(entry.id);
    this.cursor = formatCursor(epoch, entry.id);
  }

  /**
   * The frame for one subscription. `cursor` is given where the subscription's cursor is its
   * own (a vector of shard groups, or one carrying a fence): then only the change itself is
   * shared. `change` is given where what this subscriber must see differs from the entry (a
   * key-only delete at the version it holds): then nothing is shared.
   */
  frame(
    sub: string,
    effect: Effect,
    cursor?: string,
    change: ChangeContent = this.entry.change,
  ): EncodedFrame {
    if (change !== this.entry.change)
      return changeFrame(sub, effect, cursor ?? this.cursor, changeBody(change));
    if (cursor !== undefined) return changeFrame(sub, effect, cursor, this.#changeBody());
    if (sub === this.#lastSub && effect === this.#lastEffect && this.#lastFrame !== undefined) {
      return this.#lastFrame;
    }
    const key = `${effect}\u0000${sub}`;
    let frame = this.#frames.get(key);
    if (frame === undefined) {
      frame = changeFrame(sub, effect, this.cursor, this.#changeBody());
      this.#frames.set(key, frame);
    }
    this.#lastSub = sub;
    this.#lastEffect = effect;
    this.#lastFrame = frame;
    return frame;
  }

  /** The change without sub, effect and cursor, serialized once per event. */
  #changeBody(): string {
    this.#body ??= changeBody(this.entry.change);
    return this.#body;
  }
}
