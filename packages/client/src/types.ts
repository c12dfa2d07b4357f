import type {
  ChangeFrame,
  ErrorFrame,
  LiveFrame,
  Order,
  OrderStatus,
  ResetFrame,
  ServerFrame,
  SnapshotFrame,
  WelcomeFrame,
} from '@orders/contract';

export type {
  ChangeFrame,
  ErrorFrame,
  LiveFrame,
  Order,
  OrderStatus,
  ResetFrame,
  ServerFrame,
  SnapshotFrame,
  WelcomeFrame,
};

export interface SubscriptionFilter {
  status?: OrderStatus[];
  customer?: string;
  ids?: number[];
}

/**
 * - `idle`: created, not connecting yet
 * - `connecting`: opening a socket (first time or after a failure)
 * - `connected`: welcome received; subscriptions are (re)loading or live
 * - `disconnected`: waiting out the backoff before the next attempt
 * - `closed`: `close()` was called; terminal
 */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';
