/**
 * Which transactions a PostgreSQL snapshot sees, parsed from `pg_current_snapshot()`'s text
 * form `xmin:xmax:xip,…` (64-bit transaction ids with their epoch).
 *
 * A change whose transaction the snapshot sees is already reflected in what that snapshot
 * read, so a subscriber that was sent those rows must not be sent the change again; one the
 * snapshot does not see happened after it and must be sent. This is exact, unlike comparing
 * commit times across two clocks.
 *
 * Debezium reports streamed changes with 32-bit transaction ids, which wrap. Placed near the
 * snapshot's `xmax` they read right only for transactions less than 2^31 ids away from it,
 * which is all a snapshot can have seen, but not every later one: a subscription open while
 * 2^31 transactions pass would take new changes for old. So a page also carries the WAL
 * insert position read in its statement, after its snapshot was taken: every change a
 * snapshot sees was written before it, so a change written at or past that position (a
 * 64-bit LSN, which does not wrap) is unseen without asking its 32-bit id.
 */
export class Visibility {
  readonly #xmin: bigint;
  readonly #xmax: bigint;
  readonly #inProgress: ReadonlySet<bigint>;
  /** WAL insert position read after the snapshot was taken; undefined when unknown. */
  readonly #walEnd: bigint | undefined;

  private constructor(
    /** The text it was parsed from: two snapshots that see the same transactions read alike. */
    readonly text: string,
    xmin: bigint,
    xmax: bigint,
    inProgress: ReadonlySet<bigint>,
    walEnd: bigint | undefined,
  ) {
    this.#xmin = xmin;
    this.#xmax = xmax;
    this.#inProgress = inProgress;
    this.#walEnd = walEnd;
  }

  /** The WAL insert position read after the snapshot was taken; undefined when unknown. */
  get walEnd(): bigint | undefined {
    return this.#walEnd;
  }

  /**
   * Parses `pg_current_snapshot()::text` and, when given, the WAL insert position read after
   * it as a decimal byte offset (`pg_current_wal_insert_lsn() - '0/0'`, the form Debezium
   * reports `source.lsn` in); throws on anything else.
   */
  static parse(text: string, walEnd?: string): Visibility {
    const match = SNAPSHOT_TEXT.exec(text);
    if (match === null) throw new Error(`not a PostgreSQL snapshot: "${text}"`);
    if (walEnd !== undefined && !DECIMAL.test(walEnd)) throw new Error(`not a WAL position: "${walEnd}"`);
    const [, xmin, xmax, xip] = match as unknown as [string, string, string, string];
    const inProgress = new Set(xip === '' ? [] : xip.split(',').map((x) => BigInt(x)));
    return new Visibility(
      text,
      BigInt(xmin),
      BigInt(xmax),
      inProgress,
      walEnd === undefined ? undefined : BigInt(walEnd),
    );
  }

  /**
   * Whether the transaction had committed when the snapshot was taken. `txId` is what
   * Debezium reports as `source.txId`: the 32-bit id of a streamed change, or the full
   * 64-bit id (`txid_current()`) of its own snapshot transaction. `lsn` is the change's WAL
   * position (`source.lsn`, decimal; empty when unknown).
   */
  sees(txId: number, lsn = ''): boolean {
    if (this.#walEnd !== undefined && DECIMAL.test(lsn) && BigInt(lsn) >= this.#walEnd) return false;
    const full = this.#widen(txId);
    if (full < this.#xmin) return true;
    return full < this.#xmax && !this.#inProgress.has(full);
  }

  /**
   * A 32-bit id is placed in the epoch that makes it closest to `xmax`. Right for every
   * transaction the snapshot can have seen (PostgreSQL keeps the ids in use within 2^31 of
   * the next one) and for changes written soon after it; not for one 2^31 ids later, which
   * the WAL position above (or the subscription's partition passes) must settle first.
   */
  #widen(txId: number): bigint {
    const id = BigInt(txId);
    if (id > XID32_MAX) return id;
    let full = (this.#xmax & ~XID32_MAX) | id;
    if (full > this.#xmax + HALF_RANGE) full -= XID32_RANGE;
    else if (full + HALF_RANGE < this.#xmax) full += XID32_RANGE;
    return full;
  }
}

const SNAPSHOT_TEXT = /^(\d+):(\d+):((?:\d+(?:,\d+)*)?)$/;
const DECIMAL = /^\d+$/;
const XID32_MAX = 0xffff_ffffn;
const XID32_RANGE = 0x1_0000_0000n;
const HALF_RANGE = 0x8000_0000n;
