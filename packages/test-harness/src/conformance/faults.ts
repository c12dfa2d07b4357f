import type { ResetReason } from '@orders/contract';

/**
 * What PROTOCOL.md prescribes for each fault a test can inject: the reset reasons it may
 * cause and the close codes it may end a socket with. A socket's checker accepts a reset or
 * a close only when the test declared a fault that calls for it.
 */
interface Prescribed {
  resets?: readonly ResetReason[];
  closes?: readonly number[];
}

const prescribed = {
  /** History trimmed past the client's cursor [P19]. */
  trimmed_history: { resets: ['cursor_expired'] },
  /** A cursor more than `REPLAY_MAX_ENTRIES` entries behind the head [P19]. */
  replay_bound: { resets: ['cursor_expired'] },
  /** A fenced cursor resumed while history after it holds changes written before the fence [P103]. */
  fenced_cursor: { resets: ['cursor_expired'] },
  /** A cursor newer than anything history held [P20]. */
  future_cursor: { resets: ['cursor_unknown'] },
  /** A cursor with another number of shard groups than the gateway's [P34]. */
  foreign_arity_cursor: { resets: ['cursor_unknown'] },
  /** A bare stream id, the cursor format before epochs [P31]. */
  legacy_cursor: { resets: ['epoch_changed'] },
  /** Redis lost the history (flush, restart without persistence, keys and epoch deleted) [P21][P26][P30]. */
  lost_history: { resets: ['epoch_changed'] },
  /** The gateway's own stream lost entries history no longer covers [P22]. */
  stream_hole: { resets: ['stream_gap'] },
  /** A `resnapshot` marker in history [P23]. */
  resnapshot_marker: { resets: ['resnapshot'] },
  /** A `truncate` marker in history [P24]. */
  truncate_marker: { resets: ['truncate'] },
  /** An `undeliverable` marker in history [P25]. */
  undeliverable_marker: { resets: ['undeliverable'] },
  /** A remove without a before image for a subscription that does not know its view [P25][P101]. */
  before_less_remove: { resets: ['undeliverable'] },
  /** A socket that stops reading past the hard limit [P93]. */
  slow_reader: { closes: [4008] },
  /** A token that expires on an open socket [P45][P55]. */
  token_expiry: { closes: [4401] },
  /** An `auth` frame with an invalid or expired token [P57]. */
  invalid_auth: { closes: [4401] },
  /** An `auth` frame with a valid token for another principal [P58]. */
  foreign_principal: { closes: [4403] },
  /** Persistent flooding [P74]. */
  flood: { closes: [4429] },
  /** A message over the payload cap [P65]. */
  oversized_message: { closes: [1009] },
  /** A text frame that is not UTF-8 [P39]. */
  invalid_utf8: { closes: [1007] },
} as const satisfies Record<string, Prescribed>;

export type Fault = keyof typeof prescribed;

export const faults: Readonly<Record<Fault, Prescribed>> = prescribed;

/** A test's word on what it injects: for the whole socket, or for one subscription id. */
export interface FaultDeclaration {
  faults?: readonly Fault[];
  /** Reset reasons allowed outright, where a caller judges resets by its own table. */
  reasons?: readonly ResetReason[];
  /** Only subscriptions of this id (resets); every subscription when absent. */
  sub?: string;
}

/** Every reason PROTOCOL.md's table lists, for a caller that judges resets by its own rules. */
export const everyResetReason: readonly ResetReason[] = [
  'cursor_expired',
  'cursor_unknown',
  'epoch_changed',
  'stream_gap',
  'resnapshot',
  'truncate',
  'undeliverable',
];

export function resetsOf(declaration: FaultDeclaration): ResetReason[] {
  const reasons: ResetReason[] = [...(declaration.reasons ?? [])];
  for (const fault of declaration.faults ?? []) reasons.push(...(faults[fault].resets ?? []));
  return reasons;
}

export function closesOf(declaration: FaultDeclaration): number[] {
  return (declaration.faults ?? []).flatMap((fault) => faults[fault].closes ?? []);
}

/**
 * Close codes PROTOCOL.md lists, with the reason the gateway gives (undefined where the
 * WebSocket layer or a lost connection decides) and the error code whose `error` frame comes
 * right before the close.
 */
export const closeMeanings: Record<number, { reasons?: readonly string[]; error?: string }> = {
  1006: {},
  1007: {},
  1008: { reasons: ['bad_request'], error: 'bad_request' },
  1009: {},
  1011: { reasons: ['internal'], error: 'internal' },
  1012: { reasons: ['going away, reconnect'] },
  4008: { reasons: ['slow_consumer'] },
  4401: { reasons: ['token expired', 'unauthorized'], error: 'unauthorized' },
  4403: { reasons: ['forbidden'], error: 'forbidden' },
  4429: { reasons: ['rate_limited'], error: 'rate_limited' },
};

/** Closes any test may see: a gateway shutting down, and a connection lost or terminated. */
export const ordinaryCloses: readonly number[] = [1012, 1006];
