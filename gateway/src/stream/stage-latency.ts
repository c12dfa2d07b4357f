/**
 * The gateway's two stages of a change's path, measured per read with two clock reads for the
 * whole batch (never one per entry):
 *
 * - Redis append → gateway read: a stream id starts with Redis' clock (ms) at the append, so the
 *   wall clock taken once when the read returned gives each entry's wait in the stream.
 * - gateway read → socket write: from that moment to when dispatch returned, i.e. every frame
 *   of the batch had been handed to (and, corked, flushed to) its sockets.
 */

import { isMarker, type StreamEntry } from '@orders/contract/redis';
import type { Metrics } from '../metrics.ts';

/** When a read returned: wall clock (to compare with stream ids) and monotonic clock. */
export interface ReadClock {
  wallMs: number;
  monoMs: number;
}

export function readClock(): ReadClock {
  return { wallMs: Date.now(), monoMs: performance.now() };
}

/** The Redis clock (ms) at which the entry was appended: the first part of its id. */
export function appendedAtMs(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash === -1 ? id : id.slice(0, dash));
}

/**
 * Records both stages for the changes of one dispatched batch (markers are not changes) and
 * returns the wall-clock time of the write, derived from the read clock.
 */
export function observeStages(metrics: Metrics, entries: readonly StreamEntry[], read: ReadClock): number {
  const writeMs = performance.now() - read.monoMs;
  const writeSeconds = writeMs / 1000;
  for (const entry of entries) {
    if (isMarker(entry)) continue;
    metrics.redisToRead.observe(Math.max(0, read.wallMs - appendedAtMs(entry.id)) / 1000);
    metrics.readToWrite.observe(writeSeconds);
  }
  return read.wallMs + writeMs;
}
