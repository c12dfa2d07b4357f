import type { ChangeEntry } from '../stream/change-entry.ts';
import { ChangeFanout } from './change-fanout.ts';
import type { Connection } from './connection.ts';

/** The gateway's sockets; turns each stream entry into frames for the subscriptions it concerns. */
export class Hub {
  readonly connections = new Set<Connection>();

  add(conn: Connection): void {
    this.connections.add(conn);
  }

  remove(conn: Connection): void {
    this.connections.delete(conn);
    conn.markClosed();
  }

  /** Synchronous on purpose: when it returns, every frame is queued and the entries may be acknowledged. */
  dispatch(entries: readonly ChangeEntry[]): void {
    const corked: Connection[] = [];
    for (const conn of this.connections) {
      if (conn.subs.size === 0 || conn.sink.cork === undefined) continue;
      conn.sink.cork();
      corked.push(conn);
    }
    try {
      for (const entry of entries) {
        const fanout = new ChangeFanout(entry);
        for (const conn of this.connections) {
          for (const sub of conn.subs.values()) sub.offer(fanout);
        }
      }
    } finally {
      for (const conn of corked) conn.sink.uncork?.();
    }
  }

  resyncAll(): void {
    for (const conn of this.connections) {
      for (const sub of conn.subs.values()) sub.resync();
    }
  }

  subscriptionCount(): number {
    let count = 0;
    for (const conn of this.connections) count += conn.subs.size;
    return count;
  }
}
