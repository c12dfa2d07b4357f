/** Latency samples kept for percentiles: enough for a stable p99, small enough to sort per second. */
const SAMPLE_CAPACITY = 2048;
/** Events per second is averaged over this window so the number does not flicker. */
const RATE_WINDOW_MS = 2000;
const BUCKET_MS = 100;

export interface StatsSnapshot {
  eventsPerSecond: number;
  p50: number | null;
  p99: number | null;
  total: number;
}

/** Rolling counters for the header: recent event rate and commit→render latency percentiles. */
export class LiveStats {
  readonly #samples = new Float64Array(SAMPLE_CAPACITY);
  #sampleCount = 0;
  #next = 0;
  readonly #buckets = new Uint32Array(RATE_WINDOW_MS / BUCKET_MS);
  #bucketStart = 0;
  #total = 0;

  /** Records `count` events rendered at `now` (epoch ms) with their latencies. */
  record(now: number, latencies: readonly number[]): void {
    this.#advance(now);
    const bucket = Math.floor(now / BUCKET_MS) % this.#buckets.length;
    this.#buckets[bucket] = (this.#buckets[bucket] ?? 0) + latencies.length;
    this.#total += latencies.length;
    for (const latency of latencies) {
      this.#samples[this.#next] = latency;
      this.#next = (this.#next + 1) % SAMPLE_CAPACITY;
      if (this.#sampleCount < SAMPLE_CAPACITY) this.#sampleCount++;
    }
  }

  read(now: number): StatsSnapshot {
    this.#advance(now);
    let inWindow = 0;
    for (const count of this.#buckets) inWindow += count;
    const sorted = this.#samples.slice(0, this.#sampleCount).sort();
    return {
      eventsPerSecond: (inWindow * 1000) / RATE_WINDOW_MS,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      total: this.#total,
    };
  }

  /** Zeroes the buckets that the clock has moved past since the last call. */
  #advance(now: number): void {
    const current = Math.floor(now / BUCKET_MS);
    const elapsed = Math.min(current - this.#bucketStart, this.#buckets.length);
    for (let step = 1; step <= elapsed; step++) {
      this.#buckets[(this.#bucketStart + step) % this.#buckets.length] = 0;
    }
    if (elapsed > 0) this.#bucketStart = current;
  }
}

function percentile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? null;
}
