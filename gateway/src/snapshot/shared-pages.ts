import type { Filter } from '@orders/contract';
import { EncodedFrame } from '../protocol/encoded-frame.ts';
import { RowVersions } from './row-versions.ts';
import type { SnapshotScheduler } from './snapshot-scheduler.ts';
import type { SnapshotPage, SnapshotSource } from './snapshot-source.ts';

/** One snapshot page a subscriber asks for. */
export interface PageRequest {
  filter: Filter;
  afterId: number;
  limit: number;
  /**
   * Only a read sent after this may serve the request: {@link SharedSnapshotPages.mark} taken
   * once the subscriber's history heads were read (for its first page), or the `sent` of its
   * previous page (for the others).
   */
  after: number;
}

/** A page read once and shared by every subscriber it may serve. */
export interface SharedPage extends SnapshotPage {
  /** Where the read was sent in the order of all reads: the next page's request names it. */
  readonly sent: number;
  /** The first `count` rows as a JSON array, encoded once (text and UTF-8) for all subscribers. */
  rowsJson(count: number): EncodedFrame;
  /** The ids and versions of the first `count` rows, packed once for all subscribers. */
  versions(count: number): RowVersions;
}

export interface SharedSnapshotPagesOptions {
  /** False reads every page for every request, as if each subscriber were alone. @default true */
  share?: boolean;
  /**
   * How long a page that was read stays available to subscribers that come for it later.
   * 0 shares only reads still waiting or running. @default 2000
   */
  retainMs?: number;
  /** Pages kept at most, read or in flight; the oldest read ones go first. @default 128 */
  maxPages?: number;
  /** Told of every read sent and every request served by another's read. */
  counters?: { reads: Counter; shared: Counter };
  /** Milliseconds, for retention. @default performance.now */
  now?: () => number;
}

interface Counter {
  inc(): void;
}

/**
 * One PostgreSQL read per page for subscribers that come for the same page of the same filter
 * (their scope included) together: a shift opening its dashboards, or a gateway's clients
 * coming back after a restart with expired cursors.
 *
 * A shared page must be exactly as good as one read for the subscriber alone, for its seam
 * with history: everything up to the history heads the subscriber read must be in the page,
 * and its pages' snapshots must be taken in page order (see KnownVersions). Both hold when the
 * read was sent after the subscriber read its heads and after its previous page's read was
 * sent, which `PageRequest.after` says. A read still waiting for a slot is sent after any
 * request that joins it; a read already sent or done serves only requests that name an
 * earlier mark. Every subscriber keeps its own cursor, page visibility, backpressure and
 * cancellation: the read is cancelled only when every subscriber waiting on it has gone.
 *
 * Reads go through the scheduler as before, on the turn of the socket that started them;
 * subscribers that join one wait without taking a slot.
 */
export class SharedSnapshotPages {
  readonly #source: SnapshotSource;
  readonly #scheduler: SnapshotScheduler;
  readonly #share: boolean;
  readonly #retainMs: number;
  readonly #maxPages: number;
  readonly #counters: SharedSnapshotPagesOptions['counters'];
  readonly #now: () => number;
  /** The latest read of each page, by {@link keyOf}. */
  readonly #reads = new Map<string, Read>();
  /** Reads sent so far; a read's `sent` is this count when it was sent. */
  #sent = 0;
  #shared = 0;

  constructor(
    source: SnapshotSource,
    scheduler: SnapshotScheduler,
    options: SharedSnapshotPagesOptions = {},
  ) {
    this.#source = source;
    this.#scheduler = scheduler;
    this.#share = options.share ?? true;
    this.#retainMs = options.retainMs ?? 2000;
    this.#maxPages = options.maxPages ?? 128;
    this.#counters = options.counters;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Reads sent from now on see everything committed before this call. */
  mark(): number {
    return this.#sent;
  }

  /** Page reads sent to the source so far. */
  get reads(): number {
    return this.#sent;
  }

  /** Requests served by a read another request started. */
  get shared(): number {
    return this.#shared;
  }

  /** The page, read for this request or shared with others; undefined when `signal` aborts first. */
  read(owner: object, request: PageRequest, signal: AbortSignal): Promise<SharedPage | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    const key = this.#share ? keyOf(request) : '';
    const latest = this.#reads.get(key);
    if (latest?.serves(request.after, this.#now(), this.#retainMs)) {
      this.#shared++;
      this.#counters?.shared.inc();
      return this.#join(key, latest, signal);
    }
    return this.#join(key, this.#start(owner, key, request), signal);
  }

  #start(owner: object, key: string, request: PageRequest): Read {
    const read = new Read();
    if (this.#share) {
      this.#reads.delete(key);
      this.#reads.set(key, read);
      this.#evict();
    }
    read.result = this.#scheduler
      .query(owner, read.controller.signal, (signal) => {
        this.#sent++;
        read.sent = this.#sent;
        this.#counters?.reads.inc();
        return this.#source.page(request.filter, request.afterId, request.limit, signal);
      })
      .then(
        (page) => {
          if (page === undefined) return undefined;
          read.doneAt = this.#now();
          // Kept for latecomers a while, then let go: an idle gateway holds no pages.
          setTimeout(() => this.#forget(key, read), this.#retainMs).unref();
          return sharedPage(page, read.sent);
        },
        (error: unknown) => {
          this.#forget(key, read);
          throw error;
        },
      );
    return read;
  }

  #join(key: string, read: Read, signal: AbortSignal): Promise<SharedPage | undefined> {
    read.waiting++;
    return new Promise((resolve, reject) => {
      let left = false;
      const leave = () => {
        left = true;
        read.waiting--;
        // The last one waiting gone: a read nobody wants stops holding its slot and connection.
        if (read.waiting === 0 && read.doneAt === undefined) {
          read.controller.abort();
          this.#forget(key, read);
        }
        resolve(undefined);
      };
      signal.addEventListener('abort', leave, { once: true });
      read.result.then(
        (page) => {
          signal.removeEventListener('abort', leave);
          if (left) return;
          read.waiting--;
          resolve(page);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', leave);
          if (left) return;
          read.waiting--;
          reject(error);
        },
      );
    });
  }

  #forget(key: string, read: Read): void {
    if (this.#reads.get(key) === read) this.#reads.delete(key);
  }

  /** Past `maxPages`, the oldest pages already read are dropped; reads in flight stay. */
  #evict(): void {
    for (const [key, read] of this.#reads) {
      if (this.#reads.size <= this.#maxPages) return;
      if (read.doneAt !== undefined) this.#reads.delete(key);
    }
  }

  /** Pages held now, read or in flight. */
  get held(): number {
    return this.#reads.size;
  }
}

class Read {
  /** 0 until the read is sent. */
  sent = 0;
  doneAt: number | undefined;
  waiting = 0;
  readonly controller = new AbortController();
  result!: Promise<SharedPage | undefined>;

  /** Whether this read may serve a request that needs a read sent after `after`. */
  serves(after: number, now: number, retainMs: number): boolean {
    if (this.controller.signal.aborted) return false;
    if (this.doneAt !== undefined && now - this.doneAt > retainMs) return false;
    // Not yet sent: it will be, after any mark taken so far.
    return this.sent === 0 || this.sent > after;
  }
}

function sharedPage(page: SnapshotPage, sent: number): SharedPage {
  let encoded: { count: number; json: EncodedFrame } | undefined;
  let packed: { count: number; versions: RowVersions } | undefined;
  return {
    ...page,
    sent,
    versions(count: number): RowVersions {
      if (packed?.count !== count) packed = { count, versions: RowVersions.of(page.rows.slice(0, count)) };
      return packed.versions;
    },
    rowsJson(count: number): EncodedFrame {
      if (encoded?.count !== count)
        encoded = { count, json: new EncodedFrame(JSON.stringify(page.rows.slice(0, count))) };
      return encoded.json;
    },
  };
}

/** Pages of the same filter (scope included), start and size are the same read. */
function keyOf({ filter, afterId, limit }: PageRequest): string {
  const status = filter.status === undefined ? null : [...filter.status].sort();
  const ids = filter.ids === undefined ? null : [...filter.ids].sort((a, b) => a - b);
  return JSON.stringify([filter.customer ?? null, status, ids, afterId, limit]);
}
