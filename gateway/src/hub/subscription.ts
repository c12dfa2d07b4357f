import type { Filter, ResetReason } from '@orders/contract';
import { computeEffect } from '@orders/contract';
import { heldRowDelete, lacksBeforeImage } from './before-image.ts';
import { HeldRows } from './held-rows.ts';
import { KnownVersions } from './known-versions.ts';
import { MarkerEvent } from './marker-event.ts';
import { scopedChangeFrame } from './scoped-change-frame.ts';
import type { SubscriberSocket } from './subscriber-socket.ts';
import { SubscriptionCursor } from './subscription-cursor.ts';
import type { StreamEvent, SubscriptionState } from './subscription-state.ts';
import * as transition from './subscription-state.ts';

export type { StreamEvent, SubscriptionState } from './subscription-state.ts';

/** Who reloads a live subscription that met a reset or a resync: its socket's session. */
export interface Reloader {
  reload(sub: Subscription): void;
}

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
 * calls for a reset (a marker, an event of another epoch). Its state and the transitions
 * between states are in `subscription-state.ts`; a transition from a state it does not leave
 * from throws.
 */
export class Subscription extends SubscriptionCursor {
  #state: SubscriptionState = transition.loading();
  readonly known = new KnownVersions();
  readonly held = new HeldRows();
  /** The customer a customer token limits this subscription to; its filter already includes it. */
  scope: string | undefined;
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

  get state(): SubscriptionState {
    return this.#state;
  }

  protected get live(): boolean {
    return this.#state.kind === 'live';
  }

  /** Reloading because this gateway's stream lost entries (so a trimmed history is a `stream_gap`). */
  get gap(): boolean {
    const state = this.#state;
    return (state.kind === 'loading' || state.kind === 'resetting') && state.gap;
  }

  /** A live event from the hub: delivered when live, held while loading or resetting, dropped once closed. */
  offer(event: StreamEvent): void {
    const { kind } = this.#state;
    if (kind === 'live') this.deliver(event);
    else if (kind !== 'closed') this.#state = transition.hold(this.#state, event, this.maxBuffered);
  }

  /** Sends `event` if the subscriber lacks it; nothing once a reset was met or the subscription closed. */
  deliver(event: StreamEvent): void {
    const { kind } = this.#state;
    if (kind === 'resetting' || kind === 'closed') return;
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
    if (this.#state.kind === 'live') this.known.retireBefore(change.committedAt, KNOWN_VERSIONS_GRACE_MS);
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
    const frame =
      this.scope === undefined
        ? event.frame(this.id, effect, cursor, sent)
        : scopedChangeFrame(event, this.id, effect, this.scope, cursor, sent);
    this.conn.send(frame, this.id, sent.row.id);
  }

  /** Loading or live: stops delivering until the loader takes `reason`; a live subscription reloads. */
  #meetReset(reason: ResetReason): void {
    const wasLive = this.#state.kind === 'live';
    this.#state = transition.meetReset(this.#state, reason);
    if (wasLive) this.reloader?.reload(this);
  }

  /** The reset met since the last call, if any; the loader answers it with `reset` and a snapshot. */
  takeReset(): ResetReason | undefined {
    const state = this.#state;
    if (state.kind !== 'resetting') return undefined;
    this.#state = transition.takeReset(state);
    return state.reason;
  }

  /**
   * True once if live events were dropped while loading; the caller replays history again.
   * Closed, nothing is replayed; live, no load is asking (throws).
   */
  takeOverflow(): boolean {
    const state = this.#state;
    if (state.kind === 'closed') return false;
    this.#state = transition.takeOverflow(state);
    return state.kind !== 'live' && state.overflowed;
  }

  /** `reset` went out and a snapshot follows: the load forgets dropped events and the stream gap. */
  startOver(): void {
    this.#state = transition.startOver(this.#state);
  }

  /**
   * Switches to live, synchronously after the last replay page so no event slips between.
   * False when a buffered event called for a reset: the subscription stays resetting. True
   * without a frame when it closed meanwhile; throws when it is live already.
   */
  goLive(recovered: boolean): boolean {
    const state = this.#state;
    if (state.kind === 'closed') return true;
    const { state: released, events } = transition.release(state);
    this.#state = released;
    this.conn.batch(() => {
      for (const event of events) this.deliver(event);
    });
    // The socket may have closed under a delivered frame (a slow consumer).
    const { kind } = this.state;
    if (kind === 'closed') return true;
    if (kind === 'resetting') return false;
    this.#state = transition.goLive(this.#state);
    // The load is over and nothing listens any more; the next load makes a new one.
    this.#abort = undefined;
    this.conn.send({ type: 'live', sub: this.id, cursor: this.cursor, recovered });
    return true;
  }

  /**
   * Set by the session: reloads this subscription (from its position, or after a reset). An
   * object the subscription passes itself to, rather than a closure over it per subscription.
   */
  reloader: Reloader | undefined;

  /**
   * This gateway's stream lost entries: a live subscription reloads from its position through
   * history; a loading one drops its buffer (it may have the same hole) and replays again.
   */
  resync(): void {
    const { kind } = this.#state;
    if (kind === 'closed') return;
    // A loading subscription keeps its reason: its own cursor may be what history lacks.
    this.#state = transition.resync(this.#state);
    if (kind === 'live') this.reloader?.reload(this);
  }

  /** Starts over with `reset` and a snapshot, whatever state the load is in; a reset already met stays. */
  reset(reason: ResetReason): void {
    const { kind } = this.#state;
    if (kind === 'loading' || kind === 'live') this.#meetReset(reason);
  }

  /** Aborts when the subscription closes (unsubscribe, socket gone): loading stops, queries are cancelled. */
  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    if (this.#state.kind === 'closed') this.#abort.abort();
    return this.#abort.signal;
  }

  /** From any state; closing a closed subscription does nothing more. */
  close(): void {
    this.#state = transition.close();
    this.#abort?.abort();
    this.known.clear();
    this.held.clear();
  }
}
