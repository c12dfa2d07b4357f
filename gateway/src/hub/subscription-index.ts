import type { DispatchClock } from './dispatch-clock.ts';
import { SourceProgress } from './source-progress.ts';
import type { Subscription } from './subscription.ts';

/**
 * Which subscriptions a stream event can concern. One with an `ids` filter can only be
 * concerned by changes to those orders (a change's rows before and after share the id), so it
 * is found through its ids; every other subscription is offered every event, and reset markers
 * go to all. A gateway holding many sockets that each watch a few orders then spends, per
 * change, the subscriptions it concerns rather than all of them.
 */
export class SubscriptionIndex {
  /** Per shard group, the last event offered; subscriptions share this array. */
  readonly #clocks: DispatchClock[] = [];
  /** How far dispatched changes reach into the WAL; subscriptions share it. */
  readonly progress = new SourceProgress();
  readonly #scanned = new Set<Subscription>();
  readonly #byIds = new Set<Subscription>();
  readonly #byId = new Map<number, Set<Subscription>>();

  clockOf(group: number): DispatchClock {
    let clock = this.#clocks[group];
    if (clock === undefined) {
      clock = { epoch: '', id: '0-0', ms: 0, seq: 0 };
      this.#clocks[group] = clock;
    }
    return clock;
  }

  add(sub: Subscription): void {
    sub.clocks = this.#clocks;
    sub.progress = this.progress;
    const ids = sub.filter.ids;
    if (ids === undefined) {
      this.#scanned.add(sub);
      return;
    }
    this.#byIds.add(sub);
    for (const id of ids) {
      const subs = this.#byId.get(id);
      if (subs === undefined) this.#byId.set(id, new Set([sub]));
      else subs.add(sub);
    }
  }

  remove(sub: Subscription): void {
    if (this.#scanned.delete(sub) || !this.#byIds.delete(sub)) return;
    for (const id of sub.filter.ids ?? []) {
      const subs = this.#byId.get(id);
      if (subs?.delete(sub) && subs.size === 0) this.#byId.delete(id);
    }
  }

  /** Calls `visit` for every subscription a change to order `orderId` may concern, or for all when undefined. */
  forEach(orderId: number | undefined, visit: (sub: Subscription) => void): void {
    for (const sub of this.#scanned) visit(sub);
    if (orderId === undefined) {
      for (const sub of this.#byIds) visit(sub);
      return;
    }
    const subs = this.#byId.get(orderId);
    if (subs !== undefined) for (const sub of subs) visit(sub);
  }

  get size(): number {
    return this.#scanned.size + this.#byIds.size;
  }
}

/**
 * A connection's subscriptions by id, keeping the hub's index in step once the connection is
 * attached: whatever path adds, removes or clears a subscription, the index follows.
 */
export class SubscriptionMap extends Map<string, Subscription> {
  #index: SubscriptionIndex | undefined;

  attach(index: SubscriptionIndex): void {
    this.#index = index;
    for (const sub of this.values()) index.add(sub);
  }

  override set(id: string, sub: Subscription): this {
    const previous = this.get(id);
    if (previous !== undefined) this.#index?.remove(previous);
    super.set(id, sub);
    this.#index?.add(sub);
    return this;
  }

  override delete(id: string): boolean {
    const sub = this.get(id);
    if (sub !== undefined) this.#index?.remove(sub);
    return super.delete(id);
  }

  override clear(): void {
    if (this.#index !== undefined) for (const sub of this.values()) this.#index.remove(sub);
    super.clear();
  }
}
