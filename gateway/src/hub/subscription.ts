import type { Cursor, Filter, ResetReason } from '@orders/contract';
import {
  computeEffect,
  fenceCursor,
  formatCursor,
  formatCursorVector,
  ORIGIN_ID,
  splitStreamId,
} from '@orders/contract';
import { scopedChangeFrame } from '../auth/scope.ts';
import type { EncodedFrame } from '../protocol/encoded-frame.ts';
import { heldRowDelete, lacksBeforeImage } from './before-image.ts';
import type { ChangeFanout } from './change-fanout.ts';
import type { DispatchClock } from './dispatch-clock.ts';
import { HeldRows } from './held-rows.ts';
import { KnownVersions } from './known-versions.ts';
import { MarkerEvent } from './marker-event.ts';
import type { SourceProgress } from './source-progress.ts';
import type { SubscriberSocket } from './subscriber-socket.ts';

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

const DECIMAL = /^\d+$/;

/**
 * One `subscribe` on one socket. While its snapshot and replay are in flight, live events
 * are buffered; every path (replay, buffer, live) goes through `deliver`, which drops what
 * the subscriber already has by stream id and by row version, and stops at anything that
 * calls for a reset (a marker, an event of another epoch).
 */
export class Subscription {
  state: SubscriptionState = 'loading';
  /** Per shard group (one without shard groups): the position and its numeric parts. */
  readonly #positions: string[];
  readonly #positionMs: number[];
  readonly #positionSeq: number[];
  /** Per shard group, the history epoch its position belongs to; empty until a snapshot or cursor sets it. */
  readonly epochs: string[];
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
  /** See {@link fence}. */
  #fence: bigint | undefined;
  /** Whether this subscription read the snapshot its fence comes from (and so judges changes exactly). */
  #fenceJudged = false;

  constructor(
    readonly id: string,
    readonly filter: Filter,
    readonly conn: SubscriberSocket,
    /** Live events held while loading; past this the buffer is dropped and history replays them. */
    readonly maxBuffered: number,
    /** Shard groups of the gateway: one position (and epoch) per group. */
    readonly groups = 1,
  ) {
    this.#positions = Array.from({ length: groups }, () => ORIGIN_ID);
    this.#positionMs = Array.from({ length: groups }, () => 0);
    this.#positionSeq = Array.from({ length: groups }, () => 0);
    this.epochs = Array.from({ length: groups }, () => '');
  }

  /** The epoch of the first (without shard groups: the only) group. */
  get epoch(): string {
    return this.epochs[0] ?? '';
  }

  set epoch(epoch: string) {
    this.epochs[0] = epoch;
  }

  /**
   * Per shard group, the hub's last offered event; set when the hub indexes this subscription.
   * The index passes over events that cannot concern it, so a live subscription counts as
   * brought up to each group's last event.
   */
  clocks: readonly DispatchClock[] | undefined;

  #catchUp(group: number): void {
    const clock = this.clocks?.[group];
    if (clock === undefined || this.state !== 'live' || clock.epoch !== this.epochs[group]) return;
    const ms = this.#positionMs[group] ?? 0;
    if (clock.ms > ms || (clock.ms === ms && clock.seq > (this.#positionSeq[group] ?? 0))) {
      this.setPosition(group, clock.id);
    }
  }

  /** Stream position this subscriber has been brought up to (sent or filtered out), in the first group. */
  get position(): string {
    return this.positionOf(0);
  }

  set position(id: string) {
    this.setPosition(0, id);
  }

  /** The position in shard group `group`. */
  positionOf(group: number): string {
    this.#catchUp(group);
    return this.#positions[group] ?? ORIGIN_ID;
  }

  setPosition(group: number, id: string): void {
    this.#positions[group] = id;
    const [ms, seq] = splitStreamId(id);
    this.#positionMs[group] = ms;
    this.#positionSeq[group] = seq;
  }

  /** Every group's epoch and position at once (a client's cursor, or the heads before a snapshot). */
  setPositions(positions: readonly Cursor[]): void {
    if (positions.length !== this.groups) throw new Error('one position per shard group');
    for (const [group, { epoch, id }] of positions.entries()) {
      this.epochs[group] = epoch;
      this.setPosition(group, id);
    }
  }

  /**
   * The position as the client sees it: `<epoch>.<id>`, or one of those per shard group, and
   * the {@link fence} while there is one.
   */
  get cursor(): string {
    const fence = this.fence;
    if (this.groups === 1) return fenceCursor(formatCursor(this.epoch, this.positionOf(0)), fence);
    for (let group = 0; group < this.groups; group++) this.#catchUp(group);
    return fenceCursor(
      formatCursorVector(this.#positions.map((id, group) => ({ epoch: this.epochs[group] ?? '', id }))),
      fence,
    );
  }

  /** Shared by the hub's index: how far dispatched changes reach into the WAL. */
  progress: SourceProgress | undefined;

  /**
   * The WAL position the client's snapshot was read before, while history after this
   * subscription's position may still hold changes written before it: history lags behind
   * PostgreSQL, so such a change may already be in the client's view. The subscription that
   * read the snapshot tells those apart exactly (its pages' visibility, {@link KnownVersions});
   * a subscription resumed from the cursor elsewhere has only the fence and answers any change
   * before it with `reset`. Cursors carry it until every Kafka partition has delivered a change
   * past it ({@link SourceProgress}) while this subscription is live: nothing older can come.
   */
  get fence(): bigint | undefined {
    const fence = this.#fence;
    if (
      fence !== undefined &&
      this.state === 'live' &&
      this.progress !== undefined &&
      fence <= this.progress.settled
    )
      this.#fence = undefined;
    return this.#fence;
  }

  /**
   * Sets the fence: from the snapshot this subscription read (`judged`: its pages tell what the
   * snapshot showed), or from the client's cursor (`judged` false: every change before it resets).
   */
  fenceAt(fence: bigint | undefined, judged: boolean): void {
    this.#fence = fence;
    this.#fenceJudged = judged;
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
    const positionMs = this.#positionMs[group] ?? 0;
    if (event.ms < positionMs || (event.ms === positionMs && event.seq <= (this.#positionSeq[group] ?? 0)))
      return;
    if (event instanceof MarkerEvent) {
      this.#meetReset(event.reason);
      return;
    }
    const { id, change } = event.entry;
    this.#positions[group] = id;
    this.#positionMs[group] = event.ms;
    this.#positionSeq[group] = event.seq;
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
    if (!this.#fenceJudged && this.#before(this.fence, sent.lsn)) {
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

  /** Whether a change written at `lsn` may be older than `fence` (an unknown position may be). */
  #before(fence: bigint | undefined, lsn: string): boolean {
    return fence !== undefined && (!DECIMAL.test(lsn) || BigInt(lsn) < fence);
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
    this.conn.sendFrame({ type: 'live', sub: this.id, cursor: this.cursor, recovered });
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
