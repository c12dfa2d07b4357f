import type { Order } from '@orders/contract';
import { Emitter } from './emitter.ts';
import { applyChange } from './rows.ts';
import {
  catchingUp,
  type Interruption,
  liveAfter,
  type SubscriptionError,
  type SubscriptionState,
  uninterrupted,
} from './subscription-state.ts';
import type { ChangeFrame, ErrorCode, ResetReason, SnapshotFrame, SubscriptionFilter } from './types.ts';

export interface SubscriptionEvents {
  /** A complete snapshot replaced the rows. */
  snapshot: { rows: ReadonlyMap<number, Order>; cursor: string };
  /** A change frame; `applied` is false for a duplicate or stale one. */
  change: { change: ChangeFrame; applied: boolean };
  /** Caught up; `recovered` when resumed from the cursor without a snapshot. */
  live: { cursor: string; recovered: boolean };
  /** The rows were cleared; a snapshot follows. */
  reset: { reason: ResetReason };
  /** The gateway's `error` frame for this subscription. */
  error: { code: ErrorCode; message: string };
  /** A transition of `state` (see {@link SubscriptionState}). */
  state: { state: SubscriptionState; previous: SubscriptionState };
}

/** One subscription's view: rows merged by version, and the cursor to resume from. */
export class Subscription extends Emitter<SubscriptionEvents> {
  readonly rows = new Map<number, Order>();
  #cursor: string | undefined;
  #staging: Map<number, Order> | undefined;
  #state: SubscriptionState;
  /** Since it was last live (or created). */
  #gap: Interruption = uninterrupted(false);
  /** Subscribed on the current connection. */
  #attached = false;
  #waiters: (() => void)[] = [];

  /** `offlineSince`: the client's connection was lost then and is not back yet. */
  constructor(
    readonly id: string,
    readonly filter: SubscriptionFilter,
    readonly unsubscribe: () => void,
    offlineSince?: number,
  ) {
    super();
    if (offlineSince === undefined) this.#state = { phase: 'loading' };
    else {
      this.#gap.offlineSince = offlineSince;
      this.#state = { phase: 'offline', since: offlineSince, lastError: undefined };
    }
  }

  /** Where this subscription stands; the `state` event reports every transition. */
  get state(): SubscriptionState {
    return this.#state;
  }

  /** Last position received; undefined until the first complete snapshot. */
  get cursor(): string | undefined {
    return this.#cursor;
  }

  get live(): boolean {
    return this.#state.phase === 'live';
  }

  /** Resolves once this subscription is live (again). */
  ready(): Promise<void> {
    if (this.live) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The `subscribe` frame for the current connection. */
  subscribeFrame(): string {
    return JSON.stringify({
      type: 'subscribe',
      sub: this.id,
      filter: this.filter,
      ...(this.#cursor === undefined ? {} : { cursor: this.#cursor }),
    });
  }

  /** Its `subscribe` frame went out on a connection: it catches up from where it stands. */
  attach(): void {
    this.#attached = true;
    this.#enter(catchingUp(this.#gap, this.#cursor !== undefined));
  }

  /** The transport dropped: an unfinished snapshot is useless, and the view is no longer live. */
  detach(now = Date.now()): void {
    this.#staging = undefined;
    if (!this.#attached) return;
    this.#attached = false;
    this.#gap.offlineSince = now;
    this.#enter({ phase: 'offline', since: now, lastError: this.#gap.lastError });
  }

  /** An error for this subscription or for its whole connection: kept until it is live again. */
  noteError(error: SubscriptionError): void {
    this.#gap.lastError = error;
    if (this.#state.phase === 'offline') this.#enter({ ...this.#state, lastError: error });
  }

  /** Unsubscribed, or the client closed. */
  onClosed(): void {
    this.#attached = false;
    this.#enter({ phase: 'closed' });
  }

  onSnapshot(frame: SnapshotFrame): void {
    this.#staging ??= new Map();
    for (const row of frame.rows) this.#staging.set(row.id, row);
    if (!frame.done) return;
    this.rows.clear();
    for (const [id, row] of this.#staging) this.rows.set(id, row);
    this.#staging = undefined;
    this.#cursor = frame.cursor;
    this.emit('snapshot', { rows: this.rows, cursor: frame.cursor });
  }

  onChange(frame: ChangeFrame): void {
    // Resuming needs a complete view; without a cursor the next subscribe snapshots anyway.
    if (this.#cursor === undefined) return;
    const applied = applyChange(this.rows, frame.effect, frame.row);
    this.#cursor = frame.cursor;
    this.emit('change', { change: frame, applied });
  }

  onLive(cursor: string, recovered: boolean): void {
    this.#cursor = cursor;
    const gap = this.#gap;
    this.#gap = uninterrupted(true);
    this.#enter(liveAfter(gap, recovered));
    this.emit('live', { cursor, recovered });
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** A newer position from the gateway (`pong.cursors`): nothing for this view lies before it. */
  onPosition(cursor: string): void {
    if (this.live) this.#cursor = cursor;
  }

  onReset(reason: ResetReason): void {
    this.rows.clear();
    this.#staging = undefined;
    this.#cursor = undefined;
    this.#gap.reset = reason;
    this.#enter({ phase: 'resyncing', reason });
    this.emit('reset', { reason });
  }

  #enter(state: SubscriptionState): void {
    const previous = this.#state;
    if (previous.phase === 'closed') return;
    // Only `live` repeats itself as a transition: each `live` frame is news.
    if (state.phase !== 'live' && sameState(previous, state)) return;
    this.#state = state;
    this.emit('state', { state, previous });
  }
}

function sameState(a: SubscriptionState, b: SubscriptionState): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => a[key as keyof typeof a] === b[key as keyof typeof b]);
}
