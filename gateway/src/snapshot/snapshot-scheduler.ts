export interface SnapshotSchedulerOptions {
  /**
   * Page reads running at once on this gateway, snapshot queries and history replay pages
   * alike; match the PostgreSQL pool. @default 4
   */
  concurrency?: number;
  /** Subscriptions one socket may have loading (snapshot or replay) at once; further ones wait in order. @default 2 */
  perSocket?: number;
  /**
   * History entries a replay from a client's cursor may read before the subscription is
   * reset and given a snapshot instead: a cursor further behind costs more to replay than a
   * snapshot does. @default {@link DEFAULT_REPLAY_MAX_ENTRIES}
   */
  replayMaxEntries?: number;
}

/**
 * Half the worker's default history length (`HISTORY_MAXLEN`, 100,000): at about half a KiB
 * an entry, some 25 MiB read from Redis and filtered for one subscription, beyond which a
 * snapshot of the subscription's rows is the cheaper way to bring it up to date.
 */
export const DEFAULT_REPLAY_MAX_ENTRIES = 50_000;

/** A granted slot; `release` is idempotent. */
export interface Slot {
  release(): void;
}

interface Waiter {
  grant(): void;
}

/**
 * Shares the loading of subscriptions between sockets: snapshot pages from PostgreSQL and
 * replay pages from history. Two levels:
 * - a socket may have `perSocket` subscriptions loading; more wait in FIFO order, so one
 *   socket subscribing (or resuming from far-back cursors) in a loop queues behind itself
 *   instead of in front of everyone;
 * - each page read takes one of `concurrency` gateway-wide slots, granted round-robin
 *   across sockets (FIFO within one), so a socket with many pages to read gets one turn
 *   per round like everyone else.
 * Slots are held per page, not per load: a load waiting on a slow reader's socket holds no
 * read slot. How far a replay from a client's cursor may go is `replayMaxEntries`.
 */
export class SnapshotScheduler {
  readonly concurrency: number;
  readonly perSocket: number;
  readonly replayMaxEntries: number;
  #running = 0;
  /** Owners with waiting queries, in round-robin order (a Map keeps insertion order). */
  readonly #queries = new Map<object, Waiter[]>();
  readonly #loads = new Map<object, { active: number; waiting: Waiter[] }>();

  constructor(options: SnapshotSchedulerOptions = {}) {
    this.concurrency = options.concurrency ?? 4;
    this.perSocket = options.perSocket ?? 2;
    this.replayMaxEntries = options.replayMaxEntries ?? DEFAULT_REPLAY_MAX_ENTRIES;
  }

  /** Page reads running now. */
  get running(): number {
    return this.#running;
  }

  /** Page reads waiting for a slot. */
  get queued(): number {
    let count = 0;
    for (const queue of this.#queries.values()) count += queue.length;
    return count;
  }

  /** Subscriptions waiting for one of their socket's loading slots. */
  get waitingLoads(): number {
    let count = 0;
    for (const state of this.#loads.values()) count += state.waiting.length;
    return count;
  }

  /** Waits for one of `owner`'s loading slots; undefined when `signal` aborts first. */
  load(owner: object, signal: AbortSignal): Promise<Slot | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    let state = this.#loads.get(owner);
    if (state === undefined) {
      state = { active: 0, waiting: [] };
      this.#loads.set(owner, state);
    }
    const own = state;
    const slot = once(() => {
      own.active--;
      const next = own.waiting.shift();
      if (next !== undefined) {
        own.active++;
        next.grant();
      } else if (own.active === 0) {
        this.#loads.delete(owner);
      }
    });
    if (state.active < this.perSocket && state.waiting.length === 0) {
      state.active++;
      return Promise.resolve(slot);
    }
    return wait(signal, slot, own.waiting, () => {
      if (own.active === 0 && own.waiting.length === 0) this.#loads.delete(owner);
    });
  }

  /**
   * Runs one page read (a snapshot query, a history page) in a gateway-wide slot. Resolves undefined when `signal` aborts,
   * whether the query was still queued or already running (`run` must stop on the signal).
   */
  async query<T>(
    owner: object,
    signal: AbortSignal,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<T | undefined> {
    const slot = await this.#querySlot(owner, signal);
    if (slot === undefined) return undefined;
    try {
      if (signal.aborted) return undefined;
      return await run(signal);
    } catch (error) {
      if (signal.aborted) return undefined;
      throw error;
    } finally {
      slot.release();
    }
  }

  #querySlot(owner: object, signal: AbortSignal): Promise<Slot | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    const slot = once(() => {
      this.#running--;
      this.#dispatch();
    });
    let queue = this.#queries.get(owner);
    if (queue === undefined) {
      queue = [];
      this.#queries.set(owner, queue);
    }
    const own = queue;
    const waiting = wait(signal, slot, own, () => {
      if (own.length === 0 && this.#queries.get(owner) === own) this.#queries.delete(owner);
    });
    this.#dispatch();
    return waiting;
  }

  #dispatch(): void {
    while (this.#running < this.concurrency) {
      const next = this.#queries.entries().next();
      if (next.done === true) return;
      const [owner, queue] = next.value;
      const waiter = queue.shift();
      // Re-inserting moves the owner to the back of the round.
      this.#queries.delete(owner);
      if (queue.length > 0) this.#queries.set(owner, queue);
      if (waiter === undefined) continue;
      this.#running++;
      waiter.grant();
    }
  }
}

/** Queues a waiter that gets `slot` when granted, or leaves the queue and gets undefined on abort. */
function wait(
  signal: AbortSignal,
  slot: Slot,
  queue: Waiter[],
  afterRemove: () => void,
): Promise<Slot | undefined> {
  return new Promise((resolve) => {
    const onAbort = () => {
      const i = queue.indexOf(waiter);
      if (i >= 0) queue.splice(i, 1);
      afterRemove();
      resolve(undefined);
    };
    const waiter: Waiter = {
      grant: () => {
        signal.removeEventListener('abort', onAbort);
        resolve(slot);
      },
    };
    signal.addEventListener('abort', onAbort, { once: true });
    queue.push(waiter);
  });
}

function once(release: () => void): Slot {
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      release();
    },
  };
}
