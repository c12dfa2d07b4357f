/**
 * Prometheus histograms scraped as text, subtracted between two scrapes (so one round's
 * observations are separated from everything before it) and summed across processes.
 */
export type Buckets = Map<number, number>;

/** Cumulative bucket counts of an unlabelled histogram, by upper bound (seconds). */
export function parseBuckets(text: string, name: string): Buckets {
  const buckets: Buckets = new Map();
  const prefix = `${name}_bucket{le="`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const end = line.indexOf('"', prefix.length);
    const raw = line.slice(prefix.length, end);
    const le = raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw);
    buckets.set(le, Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return buckets;
}

/** `after - before`, bucket by bucket (the same process scraped twice). */
export function subtract(after: Buckets, before: Buckets): Buckets {
  const delta: Buckets = new Map();
  for (const [le, count] of after) delta.set(le, count - (before.get(le) ?? 0));
  return delta;
}

export function add(a: Buckets, b: Buckets): Buckets {
  const sum: Buckets = new Map(a);
  for (const [le, count] of b) sum.set(le, (sum.get(le) ?? 0) + count);
  return sum;
}

function sorted(buckets: Buckets): [number, number][] {
  return [...buckets].sort((x, y) => x[0] - y[0]);
}

export function observations(buckets: Buckets): number {
  return sorted(buckets).at(-1)?.[1] ?? 0;
}

/**
 * Quantile in ms by linear interpolation inside the bucket (as `histogram_quantile`); +Infinity
 * when it lies above the highest finite bound.
 */
export function quantileMs(buckets: Buckets, q: number): number {
  const rows = sorted(buckets);
  const total = rows.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const [le, count] of rows) {
    if (count >= rank) {
      // Beyond the highest finite bound nothing is known but "more than it".
      if (!Number.isFinite(le)) return Number.POSITIVE_INFINITY;
      const inBucket = count - previousCount;
      const s = inBucket === 0 ? le : previousLe + ((le - previousLe) * (rank - previousCount)) / inBucket;
      return s * 1000;
    }
    previousLe = le;
    previousCount = count;
  }
  return previousLe * 1000;
}

/**
 * Upper bound (ms) of the highest bucket that gained an observation: the max is at most this
 * (+Infinity when an observation exceeded every finite bound).
 */
export function maxBoundMs(buckets: Buckets): number {
  const rows = sorted(buckets);
  const total = rows.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  for (const [le, count] of rows) if (count >= total) return le * 1000;
  return Number.POSITIVE_INFINITY;
}

/** The highest finite bucket bound, in ms. */
export function topBoundMs(buckets: Buckets): number {
  return Math.max(0, ...[...buckets.keys()].filter(Number.isFinite)) * 1000;
}
