import type { Effect } from '@orders/contract';
import { formatCursor, splitStreamId } from '@orders/contract';
import type { ChangeEntry, StreamChange } from '@orders/contract/redis';
import { EncodedFrame } from '../protocol/encoded-frame.ts';

/**
 * Builds the `change` frames of one event lazily and caches them by (effect, sub id).
 * Subscription ids are chosen by clients and mostly repeat ("s1"), so a whole fan-out
 * usually serializes one or two frames and every socket gets the same bytes.
 */
export class ChangeFanout {
  readonly #frames = new Map<string, EncodedFrame>();
  #body: string | undefined;
  #rest: string | undefined;
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
   * The frame for one subscription. `cursor` is given with shard groups, where the cursor is
   * the subscription's own vector (its positions in the other groups differ): then only the
   * change itself is shared.
   */
  frame(sub: string, effect: Effect, cursor?: string): EncodedFrame {
    if (cursor !== undefined) {
      return new EncodedFrame(
        `{"type":"change","sub":${JSON.stringify(sub)},"effect":"${effect}","cursor":${JSON.stringify(cursor)},${this.#restBody()}}`,
      );
    }
    if (sub === this.#lastSub && effect === this.#lastEffect && this.#lastFrame !== undefined) {
      return this.#lastFrame;
    }
    const key = `${effect}\u0000${sub}`;
    let frame = this.#frames.get(key);
    if (frame === undefined) {
      frame = new EncodedFrame(
        `{"type":"change","sub":${JSON.stringify(sub)},"effect":"${effect}",${this.#sharedBody()}}`,
      );
      this.#frames.set(key, frame);
    }
    this.#lastSub = sub;
    this.#lastEffect = effect;
    this.#lastFrame = frame;
    return frame;
  }

  /**
   * A frame of this event carrying `change` in place of the entry's own: what one subscriber
   * must see differs (a key-only delete at the version it holds), so nothing is shared.
   */
  frameOf(change: StreamChange, sub: string, effect: Effect, cursor?: string): EncodedFrame {
    const { op, row, before, committedAt } = change;
    return EncodedFrame.of({
      type: 'change',
      sub,
      cursor: cursor ?? this.cursor,
      op,
      effect,
      row,
      before,
      committedAt,
    });
  }

  /** The part every subscriber shares, serialized once per event. */
  #sharedBody(): string {
    this.#body ??= `"cursor":${JSON.stringify(this.cursor)},${this.#restBody()}`;
    return this.#body;
  }

  /** The change without its cursor. */
  #restBody(): string {
    if (this.#rest === undefined) {
      const { change } = this.entry;
      this.#rest = `"op":"${change.op}","row":${JSON.stringify(change.row)},"before":${JSON.stringify(change.before)},"committedAt":${change.committedAt}`;
    }
    return this.#rest;
  }
}
