import { scopedChangeFrame } from '../auth/scope.ts';
import { computeEffect } from '../filter/effect.ts';
import type { Filter } from '../filter/filter.ts';
import { ORIGIN_ID, splitStreamId } from '../stream/stream-id.ts';
import type { ChangeFanout } from './change-fanout.ts';
import type { Connection } from './connection.ts';
import { KnownVersions } from './known-versions.ts';

export type SubscriptionState = 'loading' | 'live' | 'closed';

/** How far past the snapshot live commits must be before its remembered versions are dropped. */
const KNOWN_VERSIONS_GRACE_MS = 60_000;

/**
 * One `subscribe` on one socket. While its snapshot and replay are in flight, live events
 * are buffered; every path (replay, buffer, live) goes through `deliver`, which drops what
 * the subscriber already has by stream id and by row version.
 */
export class Subscription {
  state: SubscriptionState = 'loading';
  #position = ORIGIN_ID;
  #positionMs = 0;
  #positionSeq = 0;
  readonly known = new KnownVersions();
  /** The customer a customer token limits this subscription to; its filter already includes it. */
  scope: string | undefined;
  #buffer: ChangeFanout[] = [];
  #overflowed = false;
  readonly #abort = new AbortController();

  constructor(
    readonly id: string,
    readonly filter: Filter,
    readonly conn: Connection,
    /** Live events held while loading; past this the buffer is dropped and history replays them. */
    readonly maxBuffered: number,
  ) {}

  /** Stream position this subscriber has been brought up to (sent or filtered out). */
  get position(): string {
    return this.#position;
  }

  set position(id: string) {
    this.#position = id;
    [this.#positionMs, this.#positionSeq] = splitStreamId(id);
  }

  offer(fanout: ChangeFanout): void {
    if (this.state === 'live') {
      this.deliver(fanout);
    } else if (this.state === 'loading' && !this.#overflowed) {
      if (this.#buffer.length >= this.maxBuffered) {
        this.#overflowed = true;
        this.#buffer = [];
      } else {
        this.#buffer.push(fanout);
      }
    }
  }

  deliver(fanout: ChangeFanout): void {
    const { id, change } = fanout.entry;
    if (fanout.ms < this.#positionMs || (fanout.ms === this.#positionMs && fanout.seq <= this.#positionSeq))
      return;
    this.#position = id;
    this.#positionMs = fanout.ms;
    this.#positionSeq = fanout.seq;
    if (this.state === 'live') this.known.retireBefore(change.committedAt, KNOWN_VERSIONS_GRACE_MS);
    const effect = computeEffect(this.filter, change);
    if (effect === null || !this.known.admit(change.op, change.row)) return;
    this.conn.stats.changes++;
    const frame =
      this.scope === undefined
        ? fanout.frame(this.id, effect)
        : scopedChangeFrame(fanout, this.id, effect, this.scope);
    this.conn.send(frame, this.id, change.row.id);
  }

  /** True once if live events were dropped while loading; the caller replays history again. */
  takeOverflow(): boolean {
    const overflowed = this.#overflowed;
    this.#overflowed = false;
    return overflowed;
  }

  /** Switches to live, synchronously after the last replay page so no event slips between. */
  goLive(recovered: boolean): void {
    if (this.state !== 'loading') return;
    const buffered = this.#buffer;
    this.#buffer = [];
    for (const fanout of buffered) this.deliver(fanout);
    this.state = 'live';
    this.conn.sendFrame({ type: 'live', sub: this.id, cursor: this.position, recovered });
  }

  /** Set by the session: reloads this subscription from its position through history. */
  onResync: (() => void) | undefined;

  /** Back to loading, e.g. after this gateway's stream lost entries; history fills the gap. */
  resync(): void {
    if (this.state !== 'live') return;
    this.state = 'loading';
    this.onResync?.();
  }

  /** Aborts when the subscription closes (unsubscribe, socket gone): loading stops, queries are cancelled. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  close(): void {
    this.state = 'closed';
    this.#abort.abort();
    this.#buffer = [];
    this.known.clear();
  }
}
