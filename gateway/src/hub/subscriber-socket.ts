import type { ServerFrame } from '@orders/contract';
import type { Outbox } from '../backpressure/outbox.ts';
import type { EncodedFrame } from '../protocol/encoded-frame.ts';
import type { SendStats } from '../send-stats.ts';

/**
 * What a subscription needs of the socket it feeds. `Connection` is one; naming the need here
 * keeps the connection (which owns its subscriptions) and the subscription from importing
 * each other.
 */
export interface SubscriberSocket {
  readonly id: string;
  readonly stats: SendStats;
  readonly outbox: Outbox;
  /** `sub` and `orderId` mark a change a newer one for the same order may replace while the socket lags. */
  send(frame: EncodedFrame | ServerFrame, sub?: string, orderId?: number): void;
  /** Runs `run` with a batch open: change frames it writes may leave as one `changes` frame. */
  batch(run: () => void): void;
  /** Runs `run` with the socket corked: the frames it writes leave in one socket write. */
  corked(run: () => void): void;
  /**
   * The hub's dispatch `round` is about to offer this socket an event. The first call of a
   * round corks the socket and opens a batch, and answers true: the hub then owes one
   * {@link leaveDispatch} when the round ends.
   */
  enterDispatch(round: number): boolean;
  leaveDispatch(): void;
}
