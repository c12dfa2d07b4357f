import type { ClientErrorCode, ErrorCode, ResetReason } from './types.ts';

/** An error the client reported for a subscription or for its whole connection. */
export interface SubscriptionError {
  code: ErrorCode | ClientErrorCode;
  message: string;
}

/**
 * Where one subscription stands, as one value (`sub.state`, and the `state` event on every
 * transition):
 *
 * ```text
 *   loading ──live──> live ──reset──> resyncing ──live──> live
 *      │                │                 │
 *      └─────── connection lost ──────────┴──> offline ──reconnected──> resuming | resyncing | loading
 *   any ──unsubscribe() / client.close()──> closed
 * ```
 *
 * - `loading`: no complete view yet: waiting for a connection, or its first snapshot and the
 *   changes after it are under way.
 * - `resuming`: reconnected, catching up from its cursor (no snapshot unless it is reset).
 * - `resyncing`: the gateway dropped the rows (`reason`, the `reset` frame's); a fresh snapshot
 *   is under way. A reset before the connection is lost is resynced after the reconnect.
 * - `live`: caught up; changes arrive as they happen. It says how it got here, since it was
 *   last live: `recovered` (resumed from its cursor without a snapshot, the `live` frame's flag),
 *   `reset` (the reason of the last reset, whose fresh snapshot this live completes),
 *   `offlineSince` (when the connection serving it was last lost) and `again` (it had been live
 *   before, so this ends an interruption rather than the first load). A `live` frame while live
 *   (the gateway refilled a hole in its stream from history) is a transition too.
 * - `offline`: the connection that served it was lost at `since`; rows and cursor are kept for
 *   the resume. `lastError`: the last error reported for it or for the connection since it was
 *   last live (not `connect_failed`: failed attempts are the connection's `attempt` and `code`).
 *   A subscription created while the client's connection is lost starts here, `since` the loss.
 * - `closed`: unsubscribed, or the client was closed; no transition leaves it.
 */
export type SubscriptionState =
  | { phase: 'loading' }
  | { phase: 'resuming' }
  | { phase: 'resyncing'; reason: ResetReason }
  | {
      phase: 'live';
      recovered: boolean;
      reset: ResetReason | undefined;
      offlineSince: number | undefined;
      again: boolean;
    }
  | { phase: 'offline'; since: number; lastError: SubscriptionError | undefined }
  | { phase: 'closed' };

export type SubscriptionPhase = SubscriptionState['phase'];

/** What happened to a subscription since it was last live: shapes its next `live` state. */
export interface Interruption {
  wasLive: boolean;
  reset: ResetReason | undefined;
  offlineSince: number | undefined;
  lastError: SubscriptionError | undefined;
}

export const uninterrupted = (wasLive: boolean): Interruption => ({
  wasLive,
  reset: undefined,
  offlineSince: undefined,
  lastError: undefined,
});

/** The state a subscription enters when a connection takes it (back) up. */
export function catchingUp(gap: Interruption, hasCursor: boolean): SubscriptionState {
  if (gap.reset !== undefined) return { phase: 'resyncing', reason: gap.reset };
  return hasCursor ? { phase: 'resuming' } : { phase: 'loading' };
}

/** The state a `live` frame leads to after `gap`. */
export function liveAfter(gap: Interruption, recovered: boolean): SubscriptionState {
  return { phase: 'live', recovered, reset: gap.reset, offlineSince: gap.offlineSince, again: gap.wasLive };
}
