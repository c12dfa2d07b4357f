import type { Order } from '@orders/contract';
import { Emitter } from './emitter.ts';
import { applyChange } from './rows.ts';
import type { ChangeFrame, ResetFrame, SnapshotFrame, SubscriptionFilter } from './types.ts';

export interface SubscriptionEvents {
  /** A complete snapshot replaced the rows. */
  snapshot: { rows: ReadonlyMap<number, Order>; cursor: string };
  /** A change frame; `applied` is false for a duplicate or stale one. */
  change: { change: ChangeFrame; applied: boolean };
  /** Caught up; `recovered` when resumed from the cursor without a snapshot. */
  live: { cursor: string; recovered: boolean };
  /** The rows were cleared; a snapshot follows. */
  reset: { reason: ResetFrame['reason'] };
  error: { code: string; message: string };
}

/** One subscription's view: rows merged by version, and the cursor to resume from. */
export class Subscription extends Emitter<SubscriptionEvents> {
  readonly rows = new Map<number, Order>();
  #cursor: string | undefined;
  #staging: Map<number, Order> | undefined;
  #live = false;
  #waiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly filter: SubscriptionFilter,
    readonly unsubscribe: () => void,
  ) {
    super();
  }

  /** Last position received; undefined until the first complete snapshot. */
  get cursor(): string | undefined {
    return this.#cursor;
  }

  get live(): boolean {
    return this.#live;
  }

  /** Resolves once this subscription is live (again). */
  ready(): Promise<void> {
    if (this.#live) return Promise.resolve();
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

  /** The transport dropped: an unfinished snapshot is useless, and the view is no longer live. */
  detach(): void {
    this.#staging = undefined;
    this.#live = false;
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
    this.#live = true;
    this.emit('live', { cursor, recovered });
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** A newer position from the gateway (`pong.cursors`): nothing for this view lies before it. */
  onPosition(cursor: string): void {
    if (this.#live) this.#cursor = cursor;
  }

  onReset(reason: ResetFrame['reason']): void {
    this.rows.clear();
    this.#staging = undefined;
    this.#cursor = undefined;
    this.#live = false;
    this.emit('reset', { reason });
  }
}
