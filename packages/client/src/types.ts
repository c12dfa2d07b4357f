import type {
  ChangeFrame,
  ErrorCode,
  ErrorFrame,
  FilterInput,
  LiveFrame,
  Order,
  OrderStatus,
  PongFrame,
  ResetFrame,
  ResetReason,
  ServerFrame,
  SnapshotFrame,
  WelcomeFrame,
} from '@orders/contract';

export type {
  ChangeFrame,
  ErrorCode,
  ErrorFrame,
  FilterInput,
  LiveFrame,
  Order,
  OrderStatus,
  PongFrame,
  ResetFrame,
  ResetReason,
  ServerFrame,
  SnapshotFrame,
  WelcomeFrame,
};

/** A subscription's filter as the `subscribe` frame carries it; absent fields match everything. */
export type SubscriptionFilter = FilterInput;

/**
 * - `idle`: created, not connecting yet
 * - `connecting`: opening a socket (first time or after a failure)
 * - `connected`: welcome received; subscriptions are (re)loading or live
 * - `disconnected`: waiting out the backoff before the next attempt
 * - `closed`: `close()` was called; terminal
 */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

/**
 * Where the connection stands, with what a page needs to say so: how many attempts failed in
 * a row, when the next one starts and why the last socket ended. A page shows these rather
 * than redoing the backoff arithmetic.
 */
export interface ConnectionState {
  state: ClientState;
  /** Gateway URL of the current or last attempt. */
  url: string | undefined;
  /**
   * Failed attempts in a row: 0 until a connection fails, and again once one has stayed up
   * for `stableAfterMs`.
   */
  attempt: number;
  /** While `disconnected`: when the next attempt starts (ms since epoch, this machine's clock). */
  retryAt: number | undefined;
  /** Close code of the socket that ended last; undefined when none opened (or none ended yet). */
  code: number | undefined;
}

/**
 * Errors the client reports itself, besides the gateway's error codes: no socket could be
 * opened, a token refresh failed, or the gateway sent something that is no frame.
 */
export type ClientErrorCode = 'connect_failed' | 'token_failed' | 'bad_frame';
