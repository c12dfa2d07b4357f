/**
 * Which transactions a PostgreSQL snapshot sees, parsed from `pg_current_snapshot()`'s text
 * form `xmin:xmax:xip,…` (64-bit transaction ids with their epoch).
 *
 * A change whose transaction the snapshot sees is already reflected in what that snapshot
 * read, so a subscriber that was sent those rows must not be sent the change again; one the
 * snapshot does not see happened after it and must be sent. This is exact, unlike comparing
 * commit times across two clocks.
 */
export class Visibility {
  readonly #xmin: bigint;
  readonly #xmax: bigint;
  readonly #inProgress: ReadonlySet<bigint>;

  private constructor(
    /** The text it was parsed from: two snapshots that see the same transactions read alike. */
    readonly text: string,
    xmin: bigint,
    xmax: bigint,
    inProgress: ReadonlySet<bigint>,
  ) {
    this.#xmin = xmin;
    this.#xmax = xmax;
    this.#inProgress = inProgress;
  }

  /** Parses `pg_current_snapshot()::text`; throws on anything else. */
  static parse(text: string): Visibility {
    const match = SNAPSHOT_TEXT.exec(text);
    if (match === null) throw new Error(`not a PostgreSQL snapshot: "${text}"`);
    const [, xmin, xmax, xip] = match as unknown as [string, string, string, string];
    const inProgress = new Set(xip === '' ? [] : xip.split(',').map((x) => BigInt(x)));
    return new Visibility(text, BigInt(xmin), BigInt(xmax), inProgress);
  }

  /**
   * Whether the transaction had committed when the snapshot was taken. `txId` is what
   * Debezium reports as `source.txId`: the 32-bit id of a streamed change, or the full
   * 64-bit id (`txid_current()`) of its own snapshot transaction.
   */
  sees(txId: number): boolean {
    const full = this.#widen(txId);
    if (full < this.#xmin) return true;
    return full < this.#xmax && !this.#inProgress.has(full);
  }

  /**
   * A 32-bit id is placed in the epoch that makes it closest below `xmax`: a transaction
   * that is still streaming cannot be 2^31 ids older than a snapshot taken now.
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
const XID32_MAX = 0xffff_ffffn;
const XID32_RANGE = 0x1_0000_0000n;
const HALF_RANGE = 0x8000_0000n;
