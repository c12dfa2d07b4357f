import type { ResetReason } from '@orders/contract';
import { isMarker, type StreamEntry } from '@orders/contract/redis';
import { ChangeFanout } from './change-fanout.ts';
import type { Connection } from './connection.ts';
import { MarkerEvent } from './marker-event.ts';

/** The gateway's sockets; turns each stream entry into frames for the subscriptions it concerns. */
export class Hub {
  readonly connections = new Set<Connection>();
  /**
   * Per shard group (one without shard groups), the epoch of the history the gateway's stream
   * of that group currently belongs to; live events carry it. Set at start and after every
   * break of the group's stream (an epoch only changes with one).
   */
  readonly epochs: string[] = [''];

  /** The first (without shard groups: the only) group's epoch. */
  get epoch(): string {
    return this.epochs[0] ?? '';
  }

  set epoch(epoch: string) {
    this.epochs[0] = epoch;
  }

  add(conn: Connection): void {
    this.connections.add(conn);
  }

  remove(conn: Connection): void {
    this.connections.delete(conn);
    conn.markClosed();
  }

  /** Synchronous on purpose: when it returns, every frame is queued and the entries may be acknowledged. */
  dispatch(entries: readonly StreamEntry[], group = 0): void {
    const epoch = this.epochs[group] ?? '';
    const corked: Connection[] = [];
    for (const conn of this.connections) {
      if (conn.subs.size === 0 || conn.sink.cork === undefined) continue;
      conn.sink.cork();
      corked.push(conn);
    }
    const batching: Connection[] = [];
    for (const conn of this.connections) {
      if (conn.subs.size === 0 || !conn.batchChanges) continue;
      conn.openBatch();
      batching.push(conn);
    }
    try {
      for (const entry of entries) {
        const event = isMarker(entry)
          ? new MarkerEvent(entry.id, entry.reset, epoch, group)
          : new ChangeFanout(entry, epoch, group);
        for (const conn of this.connections) {
          for (const sub of conn.subs.values()) sub.offer(event);
        }
      }
    } finally {
      // Batches go out before the uncork, in the same write as everything else.
      for (const conn of batching) conn.closeBatch();
      for (const conn of corked) conn.sink.uncork?.();
    }
  }

  /** The stream lost entries: every subscription fills the hole from history. */
  resyncAll(): void {
    for (const conn of this.connections) {
      for (const sub of conn.subs.values()) sub.resync();
    }
  }

  /** The stream lost entries that cannot be placed: every subscription starts over. */
  resetAll(reason: ResetReason): void {
    for (const conn of this.connections) {
      for (const sub of conn.subs.values()) sub.reset(reason);
    }
  }

  subscriptionCount(): number {
    let count = 0;
    for (const conn of this.connections) count += conn.subs.size;
    return count;
  }
}
