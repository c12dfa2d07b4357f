import type { Effect } from '../effect.ts';
import type { ChangeOp, Order } from '../order.ts';
import type { ErrorCode } from './error-code.ts';

export const PROTOCOL_VERSION = 1;

/** Protocol extensions this gateway offers; a client turns them on with an `options` frame. */
export const FEATURES = ['changes'] as const;
export type Feature = (typeof FEATURES)[number];

export interface WelcomeFrame {
  type: 'welcome';
  gateway: string;
  protocol: typeof PROTOCOL_VERSION;
  heartbeatMs: number;
  /** Extension: what the client may ask for with `options` (older gateways send none). */
  features?: readonly Feature[];
}

export interface SnapshotFrame {
  type: 'snapshot';
  sub: string;
  rows: Order[];
  cursor: string;
  done: boolean;
}

export interface ChangeFrame {
  type: 'change';
  sub: string;
  cursor: string;
  op: ChangeOp;
  effect: Effect;
  row: Order;
  before: Order | null;
  committedAt: number;
  /**
   * Present (true) when the gateway skipped earlier versions of this order for this socket
   * because it fell behind (conflation): the version may jump, by design.
   */
  conflated?: true;
}

/**
 * Extension, only for a socket that sent `{"type":"options","changes":true}`: change frames
 * the gateway had ready for the socket at the same moment, in order, in one message. Each is
 * exactly the `change` frame it would otherwise have sent; a lone change still goes alone.
 */
export interface ChangesFrame {
  type: 'changes';
  changes: ChangeFrame[];
}

/** Extension: the subscription has caught up with history and now receives live changes. */
export interface LiveFrame {
  type: 'live';
  sub: string;
  cursor: string;
  /** True when the subscription resumed from the client's cursor without a snapshot. */
  recovered: boolean;
}

/**
 * Why a subscription starts over: its cursor is past history's reach (`cursor_expired`), newer
 * than history (`cursor_unknown`), from another history or from before cursors carried one
 * (`epoch_changed`); the gateway's own stream lost entries history no longer covers
 * (`stream_gap`); or history holds a reset marker (`resnapshot`, `truncate`, `undeliverable`).
 */
export const resetReasons = [
  'cursor_expired',
  'cursor_unknown',
  'epoch_changed',
  'stream_gap',
  'resnapshot',
  'truncate',
  'undeliverable',
] as const;
export type ResetReason = (typeof resetReasons)[number];

export interface ResetFrame {
  type: 'reset';
  sub: string;
  reason: ResetReason;
}

export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  sub?: string;
}

export interface PongFrame {
  type: 'pong';
  /**
   * Extension: position of each live subscription. Frames for a subscription arrive in
   * stream order, so a client may resume from here; a subscription whose filter rarely
   * matches keeps a fresh cursor this way instead of expiring with history.
   */
  cursors?: Record<string, string>;
}

/** Extension: a subscription ended by `unsubscribe`. */
export interface UnsubscribedFrame {
  type: 'unsubscribed';
  sub: string;
}

/** Extension: an `auth` frame was accepted; the socket is now served until `exp` (seconds). */
export interface AuthedFrame {
  type: 'authed';
  exp: number;
}

export type ServerFrame =
  | WelcomeFrame
  | SnapshotFrame
  | ChangeFrame
  | ChangesFrame
  | LiveFrame
  | ResetFrame
  | ErrorFrame
  | PongFrame
  | UnsubscribedFrame
  | AuthedFrame;
