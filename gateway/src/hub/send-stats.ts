/**
 * Plain counters bumped on the hot path; metrics read them at scrape time, which keeps
 * label lookups out of the per-socket send loop.
 */
export interface SendStats {
  frames: number;
  bytes: number;
  changes: number;
  slowConsumers: number;
}

export function createSendStats(): SendStats {
  return { frames: 0, bytes: 0, changes: 0, slowConsumers: 0 };
}
