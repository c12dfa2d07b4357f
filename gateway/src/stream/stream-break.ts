import { splitStreamId } from '@orders/contract';

/**
 * A moment where this gateway's stream may have lost entries. Each one makes every
 * subscription fill the hole from history (or start over), never pass over it.
 */
export type StreamBreak =
  /** An entry names a predecessor other than the last entry read (trimmed, skipped, recreated). */
  | { kind: 'predecessor'; expected: string; found: string; id: string }
  /** The stream or its group was gone and has been created again. */
  | { kind: 'recreated' }
  /**
   * Heartbeats were apart long enough for the worker to have skipped this gateway. `at` is
   * the Redis time (ms) of the heartbeat that ended the lapse.
   */
  | { kind: 'lapse'; at: number }
  /** History's epoch is not the one the gateway serves: Redis lost its data. */
  | { kind: 'epoch' };

/**
 * Whether history can fill the hole behind subscriptions' positions. A lapse is only noticed
 * at the next heartbeat; the worker resumes writing right after it, so an entry read since
 * then may already lie beyond the hole: positions have moved past it and only a reset is
 * safe. Entries written before the heartbeat have ids at or below its time.
 */
export function breakAction(gap: StreamBreak, lastRead: string | undefined): 'resync' | 'reset' {
  if (gap.kind !== 'lapse' || lastRead === undefined) return 'resync';
  const [ms] = splitStreamId(lastRead);
  return ms >= gap.at ? 'reset' : 'resync';
}
