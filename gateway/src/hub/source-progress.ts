/**
 * How far the changes this gateway has dispatched reach into PostgreSQL's WAL, per Kafka
 * partition of the pipeline's topic.
 *
 * Debezium writes each partition in commit order. Once a partition has delivered a change
 * written at or past WAL position F (so committed after F), every later change of that
 * partition committed after F too. When every partition of the topic has done so, no change
 * committed before F can still arrive: a live subscription whose client's view may already
 * show changes written before F (its cursor's fence) no longer needs to say so.
 *
 * The topic's partition count comes from the worker (see `RedisKeys.partitions`). Until it is
 * known, and while any partition has delivered nothing, nothing is settled: fences stay,
 * which costs frame sharing, never a change.
 */
export class SourceProgress {
  #partitions = 0;
  readonly #highest = new Map<number, bigint>();
  #settled = 0n;
  #stale = false;

  /** The topic's partition count; 0 or less while unknown. */
  set partitions(count: number) {
    if (count === this.#partitions) return;
    this.#partitions = count;
    this.#stale = true;
  }

  /** A change of `partition` written at `lsn` (decimal; empty when unknown) was dispatched. */
  observe(partition: number, lsn: string): void {
    if (!DECIMAL.test(lsn)) return;
    const at = BigInt(lsn);
    const highest = this.#highest.get(partition);
    if (highest !== undefined && highest >= at) return;
    this.#highest.set(partition, at);
    this.#stale = true;
  }

  /**
   * The highest WAL position that every partition has delivered a change at or past; 0 while
   * the partition count is unknown or some partition has delivered none.
   */
  get settled(): bigint {
    if (!this.#stale) return this.#settled;
    this.#stale = false;
    let lowest: bigint | undefined;
    for (let partition = 0; partition < this.#partitions; partition++) {
      const highest = this.#highest.get(partition);
      if (highest === undefined) {
        lowest = 0n;
        break;
      }
      if (lowest === undefined || highest < lowest) lowest = highest;
    }
    this.#settled = lowest ?? 0n;
    return this.#settled;
  }
}

const DECIMAL = /^\d+$/;
