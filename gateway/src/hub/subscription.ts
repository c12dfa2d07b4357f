import type { Filter, ResetReason } from '@orders/contract';
import { computeEffect } from '@orders/contract';
import type { EncodedFrame } from '../protocol/encoded-frame.ts';
import { heldRowDelete, lacksBeforeImage } from './before-image.ts';
import type { ChangeFanout } from './change-fanout.ts';
import { HeldRows } from './held-rows.ts';
import { KnownVersions } from './known-versions.ts';
import { MarkerEvent } from './marker-event.ts';
import { scopedChangeFrame } from './scoped-change-frame.ts';
import type { SubscriberSocket } from './subscriber-socket.ts';
import { SubscriptionCursor } from './subscription-cursor.ts';

export type SubscriptionState = 'loading' | 'live' | 'closed';

/** What travels from the stream to subscriptions: a change, or a reset marker. */
export type StreamEvent = ChangeFanout | MarkerEvent;

/** How far past the snapshot live commits must be before its remembered versions are dropped. */
const KNOWN_VERSIONS_GRACE_MS = 60_000;

/**
 * Why a subscription whose view this gateway does not know (resumed from a cursor, or past
 * the {@link HeldRows} cap) starts over at a remove without a before image: the change cannot
 * be delivered to it exactly, and guessing would leak another customer's order or leave a
 * deleted one on screen.
 */
const UNPLACEABLE_REMOVE: ResetReason = 'undeliverable';

/**
 * Why a subscription resumed from a fenced cursor starts over at a change written before the
 * fence: the client's snapshot may already show it, and nothing here can tell (see {@link
 * Subscription.fence}). History after the cursor cannot complete the view.
 */
const FENCED_CHANGE: ResetReason = 'cursor_expired';

/**
 * One `subscribe` on one socket. While its snapshot and replay are in flight, live events
 * are buffered; every path (replay, buffer, live) goes through `deliver`, which drops what
 * the subscriber already has by stream id and by row version, and stops at anything that
 * calls for a reset (a marker, an event of another epoch).
 */
export class Subscription extends SubscriptionCursor {
  state: SubscriptionState = 'loading';
  readonly known = new KnownVersions();
  readonly held = new HeldRows();
  /** The customer a customer token limits this subscription to; its filter already includes it. */
  scope: string | undefined;
  #buffer: StreamEvent[] = [];
  #overflowed = false;
  #reset: ResetReason | undefined;
  /** Reloading because this gateway's stream lost entries (so a trimmed history is a `stream_gap`). */
  gap = false;
  /** Made when a load asks for it and dropped once live: an AbortSignal is heavy for an idle socket. */
  #abort: AbortController | undefined;

  constructor(
    readonly id: string,
    readonly filter: Filter,
    readonly conn: SubscriberSocket,
    /** Live events held while loading; past this the buffer is dropped and history replays them. */
    readonly maxBuffered: number,
    /** Shard groups of the gateway: one position (and epoch) per group. */
    groups = 1,
  ) {
    super(groups);
  }

  protected get live(): boolean {
    return this.state === 'live';
  }

  offer(event: StreamEvent): void {
    if (this.state === 'live') {
      this.deliver(event);
    } else if (this.state === 'loading' && !this.#overflowed) {
      if (this.#buffer.length >= this.maxBuffered) {
        this.#overflowed = true;
        this.#buffer = [];
      } else {
        this.#buffer.push(event);
      }
    }
  }

  deliver(event: StreamEvent): void {
    if (this.#reset !== undefined) return;
    const { group } = event;
    // Ids of two histories are not comparable: the subscriber's rows may be from the lost one.
    if (event.epoch !== this.epochs[group]) {
      this.#meetReset('epoch_changed');
      return;
    }
    if (this.passed(group, event.ms, event.seq)) return;
    if (event instanceof MarkerEvent) {
      this.#meetReset(event.reason);
      return;
    }
    const { id, change } = event.entry;
    this.advance(group, id, event.ms, event.seq);
    if (this.state === 'live') this.known.retireBefore(change.committedAt, KNOWN_VERSIONS_GRACE_MS);
    let effect = computeEffect(this.filter, change);
    let sent = change;
    if (lacksBeforeImage(change) && effect !== 'upsert') {
      // Without a before image the row cannot say whether this view had it (a key-only delete
      // names no customer, status or version): exactly the subscriptions holding it are told.
      if (!this.held.known) {
        this.#meetReset(UNPLACEABLE_REMOVE);
        return;
      }
      const version = this.held.versionOf(change.row.id);
      if (version === undefined) return;
      effect = 'remove';
      if (change.op === 'delete') sent = heldRowDelete(change, version);
    }
    if (effect === null || !this.known.admit(sent)) return;
    if (this.beforeUnjudgedFence(sent.lsn)) {
      this.#meetReset(FENCED_CHANGE);
      return;
    }
    if (effect === 'upsert') this.held.add(sent.row.id, sent.row.version);
    else this.held.delete(sent.row.id);
    this.conn.stats.changes++;
    // With shard groups the cursor is this subscription's vector, and a fence is its own: then
    // the frame is its own too.
    const cursor = this.groups === 1 && this.fence === undefined ? undefined : this.cursor;
    let frame: EncodedFrame;
    if (this.scope !== undefined) frame = scopedChangeFrame(event, this.id, effect, this.scope, cursor, sent);
    else if (sent === change) frame = event.frame(this.id, effect, cursor);
    else frame = event.frameOf(sent, this.id, effect, cursor);
    this.conn.send(frame, this.id, sent.row.id);
  }

  #meetReset(reason: ResetReason): void {
    this.#reset = reason;
    this.#buffer = [];
    if (this.state === 'live') {
      this.state = 'loading';
      this.onReload?.();
    }
  }

  /** The reset met since the last call, if any; the loader answers it with `reset` and a snapshot. */
  takeReset(): ResetReason | undefined {
    const reset = this.#reset;
    this.#reset = undefined;
    return reset;
  }

  /** True once if live events were dropped while loading; the caller replays history again. */
  takeOverflow(): boolean {
    const overflowed = this.#overflowed;
    this.#overflowed = false;
    return overflowed;
  }

  /**
   * Switches to live, synchronously after the last replay page so no event slips between.
   * False when a buffered event called for a reset: the subscription stays loading.
   */
  goLive(recovered: boolean): boolean {
    if (this.state !== 'loading') return true;
    const buffered = this.#buffer;
    this.#buffer = [];
    this.conn.batch(() => {
      for (const event of buffered) this.deliver(event);
    });
    if (this.#reset !== undefined) return false;
    this.state = 'live';
    this.gap = false;
    // The load is over and nothing listens any more; the next load makes a new one.
    this.#abort = undefined;
    this.conn.send({ type: 'live', sub: this.id, cursor: this.cursor, recovered });
    return true;
  }

  /** Set by the session: reloads this subscription (from its position, or after a reset). */
  onReload: (() => void) | undefined;

  /**
   * This gateway's stream lost entries: a live subscription reloads from its position through
   * history; a loading one drops its buffer (it may have the same hole) and replays again.
   */
  resync(): void {
    if (this.state === 'live') {
      // A loading subscription keeps its reason: its own cursor may be what history lacks.
      this.gap = true;
      this.state = 'loading';
      this.onReload?.();
    } else if (this.state === 'loading') {
      this.#overflowed = true;
      this.#buffer = [];
    }
  }

  /** Starts over with `reset` and a snapshot, whatever state the load is in. */
  reset(reason: ResetReason): void {
    if (this.state !== 'closed' && this.#reset === undefined) this.#meetReset(reason);
  }

  /** Aborts when the subscription closes (unsubscribe, socket gone): loading stops, queries are cancelled. */
  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    if (this.state === 'closed') this.#abort.abort();
    return this.#abort.signal;
  }

  close(): void {
    this.state = 'closed';
    this.#abort?.abort();
    this.#buffer = [];
    this.known.clear();
    this.held.clear();
  }
}
