import type { ResetReason } from '@orders/contract';
import { isMarker, type StreamEntry } from '@orders/contract/redis';
import { ChangeFanout } from './change-fanout.ts';
import type { Connection } from './connection.ts';
import { MarkerEvent } from './marker-event.ts';
import type { SubscriberSocket } from './subscriber-socket.ts';
import type { StreamEvent, Subscription } from './subscription.ts';
import { SubscriptionIndex } from './subscription-index.ts';

/** The gateway's sockets; turns each stream entry into frames for the subscriptions it concerns. */
export class Hub {
  readonly connections = new Set<Connection>();
  /**
   * Per shard group (one without shard groups), the epoch of the history the gateway's stream
   * of that group currently belongs to; live events carry it. Set at start and after every
   * break of the group's stream (an epoch only changes with one).
   */
  readonly epochs: string[] = [''];
  /** Every subscription of the attached connections, findable by the orders it watches. */
  readonly index = new SubscriptionIndex();
  #round = 0;

  /** The first (without shard groups: the only) group's epoch. */
  get epoch(): string {
    return this.epochs[0] ?? '';
  }

  set epoch(epoch: string) {
    this.epochs[0] = epoch;
  }

  add(conn: Connection): void {
    this.connections.add(conn);
    conn.subs.attach(this.index);
  }

  remove(conn: Connection): void {
    this.connections.delete(conn);
    conn.markClosed();
  }

  /** Synchronous on purpose: when it returns, every frame is queued and the entries may be acknowledged. */
  dispatch(entries: readonly StreamEntry[], group = 0): void {
    const epoch = this.epochs[group] ?? '';
    const round = ++this.#round;
    // Only the sockets an event is offered to are corked and batched, each once per dispatch.
    const entered: SubscriberSocket[] = [];
    let event: StreamEvent;
    const visit = (sub: Subscription) => {
      if (sub.conn.enterDispatch(round)) entered.push(sub.conn);
      sub.offer(event);
    };
    const clock = this.index.clockOf(group);
    try {
      for (const entry of entries) {
        const marker = isMarker(entry);
        event = marker
          ? new MarkerEvent(entry.id, entry.reset, epoch, group)
          : new ChangeFanout(entry, epoch, group);
        this.index.forEach(marker ? undefined : entry.change.row.id, visit);
        if (!marker) this.index.progress.observe(entry.change.kafka.partition, entry.change.lsn);
        clock.epoch = epoch;
        clock.id = entry.id;
        clock.ms = event.ms;
        clock.seq = event.seq;
      }
    } finally {
      // Batches go out before the uncork, in the same write as everything else.
      for (const conn of entered) conn.leaveDispatch();
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

  /** The Kafka topic's partition count as the worker published it (see `SourceProgress`). */
  partitionsKnown(count: number): void {
    this.index.progress.partitions = count;
  }

  subscriptionCount(): number {
    return this.index.size;
  }
}
