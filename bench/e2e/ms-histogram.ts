/**
 * Exact latency distribution at millisecond resolution (the resolution of every clock the
 * benchmark compares: PostgreSQL commit time, stream ids, `Date.now()`): one counter per ms,
 * so percentiles over millions of deliveries cost a few KB and merge across processes.
 */
export class MsHistogram {
  counts: number[] = [];

  add(ms: number): void {
    const bucket = Math.max(0, Math.round(ms));
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
  }

  merge(other: { counts: readonly (number | null | undefined)[] }): void {
    other.counts.forEach((count, ms) => {
      if (count) this.counts[ms] = (this.counts[ms] ?? 0) + count;
    });
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts) n += c ?? 0;
    return n;
  }

  /** Nearest-rank percentile in ms (100 = max); NaN when empty. */
  percentile(p: number): number {
    const total = this.total;
    if (total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * total));
    let seen = 0;
    for (let ms = 0; ms < this.counts.length; ms++) {
      seen += this.counts[ms] ?? 0;
      if (seen >= rank) return ms;
    }
    return this.counts.length - 1;
  }

  /** Plain data for IPC (holes become null in JSON). */
  toJSON(): { counts: (number | null)[] } {
    return { counts: Array.from(this.counts, (c) => c ?? null) };
  }
}

/**
 * Commit → client split at the Redis append, per delivery, indexed by the total in ms: for
 * every total it keeps how many deliveries had it and the sum of their commit → Redis parts.
 * That is enough to say, for the tail (every delivery at or above a percentile) and for the
 * slowest one, how many of its milliseconds were spent before and after Redis.
 */
export class SplitByTotal {
  counts: number[] = [];
  beforeRedis: number[] = [];

  add(totalMs: number, beforeRedisMs: number): void {
    const t = Math.max(0, Math.round(totalMs));
    this.counts[t] = (this.counts[t] ?? 0) + 1;
    this.beforeRedis[t] = (this.beforeRedis[t] ?? 0) + beforeRedisMs;
  }

  merge(other: { counts: readonly (number | null)[]; beforeRedis: readonly (number | null)[] }): void {
    other.counts.forEach((count, t) => {
      if (!count) return;
      this.counts[t] = (this.counts[t] ?? 0) + count;
      this.beforeRedis[t] = (this.beforeRedis[t] ?? 0) + (other.beforeRedis[t] ?? 0);
    });
  }

  /** Mean total and mean commit → Redis part of the deliveries whose total is ≥ `fromMs`. */
  tail(fromMs: number): { n: number; total: number; beforeRedis: number } {
    let n = 0;
    let total = 0;
    let before = 0;
    for (let t = Math.max(0, fromMs); t < this.counts.length; t++) {
      const c = this.counts[t] ?? 0;
      n += c;
      total += c * t;
      before += this.beforeRedis[t] ?? 0;
    }
    return n === 0
      ? { n, total: Number.NaN, beforeRedis: Number.NaN }
      : { n, total: total / n, beforeRedis: before / n };
  }

  toJSON(): { counts: (number | null)[]; beforeRedis: (number | null)[] } {
    return {
      counts: Array.from(this.counts, (c) => c ?? null),
      beforeRedis: Array.from(this.beforeRedis, (c) => c ?? null),
    };
  }
}
