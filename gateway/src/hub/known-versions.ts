import type { Order } from '@orders/drizzle';
import type { ChangeOp } from '@orders/worker/contract';

/**
 * Versions a subscriber already holds from its snapshot. Replay after the snapshot's cursor
 * can carry changes the snapshot already reflects (the snapshot is read after the cursor);
 * those are dropped here. Once a newer change for an order has passed, stream order alone
 * guarantees the rest, so the entry is forgotten and the map only shrinks after the snapshot.
 */
export class KnownVersions {
  readonly #versions = new Map<number, number>();

  remember(id: number, version: number): void {
    this.#versions.set(id, version);
  }

  get size(): number {
    return this.#versions.size;
  }

  clear(): void {
    this.#versions.clear();
  }

  /** Whether the subscriber should see this change; forgets the order when it does. */
  admit(op: ChangeOp, row: Order): boolean {
    const known = this.#versions.get(row.id);
    if (known === undefined) return true;
    // A delete carries the deleted row, whose version is the last one the subscriber holds.
    const fresh = op === 'delete' ? row.version >= known : row.version > known;
    if (fresh) this.#versions.delete(row.id);
    return fresh;
  }
}
