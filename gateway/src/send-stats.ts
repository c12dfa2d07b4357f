/**
 * Plain counters bumped on the hot path; metrics read them at scrape time, which keeps
 * label lookups out of the per-socket send loop.
 */
export interface SendStats {
  frames: number;
  bytes: number;
  changes: number;
  slowConsumers: number;
  /** Change frames replaced by a newer change to the same order while their socket lagged. */
  conflated: number;
}

export function createSendStats(): SendStats {
  return { frames: 0, bytes: 0, changes: 0, slowConsumers: 0, conflated: 0 };
}
