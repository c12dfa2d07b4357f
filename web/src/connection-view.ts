/**
 * How the page joined the stream on the current connection: loading (snapshot or replay under
 * way), a first snapshot, a resume from its cursor, or a reset to a fresh snapshot.
 */
export type Recovery = 'syncing' | 'fresh' | 'resumed' | 'reset';

/** The connection as the page shows it; the adapter maps the client's states onto these. */
export type ConnectionView =
  | { state: 'connecting'; url: string }
  | { state: 'connected'; gateway: string; url: string; recovery: Recovery }
  /**
   * Waiting out the backoff (`retryBy`: when the next attempt starts, as the client says), or
   * an attempt under way.
   */
  | {
      state: 'reconnecting';
      phase: 'waiting' | 'connecting';
      retryBy: number | undefined;
      url: string;
      since: number;
      attempt: number;
      reason: string;
    }
  | { state: 'closed'; reason: string };
