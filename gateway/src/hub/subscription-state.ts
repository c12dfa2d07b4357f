import type { ResetReason } from '@orders/contract';
import type { ChangeFanout } from './change-fanout.ts';
import type { MarkerEvent } from './marker-event.ts';

/** What travels from the stream to subscriptions: a change, or a reset marker. */
export type StreamEvent = ChangeFanout | MarkerEvent;

/** What a subscription holds while a load (snapshot, replay) is in flight. */
interface LoadState {
  /**
   * Live events that arrived during the load, delivered (or found already passed) when it
   * goes live. The one mutable part: events are appended in place, the rest is replaced.
   */
  readonly buffer: StreamEvent[];
  /** Live events were dropped (past the buffer's cap, or lost by the stream): history replays again. */
  readonly overflowed: boolean;
  /** Loading because this gateway's stream lost entries, so a trimmed history is a `stream_gap`. */
  readonly gap: boolean;
}

/** Snapshot and replay in flight, live events held in the buffer. */
export interface Loading extends LoadState {
  readonly kind: 'loading';
}

/**
 * A reset was met (a marker, an event of another epoch, a change that cannot be delivered, or
 * the hub's order): nothing more is delivered until the loader takes the reason and answers it
 * with `reset` and a snapshot. Live events are still held, as while loading.
 */
export interface Resetting extends LoadState {
  readonly kind: 'resetting';
  readonly reason: ResetReason;
}

/** Every event is delivered as the hub offers it. */
export interface Live {
  readonly kind: 'live';
}

/** Unsubscribed, refused or its socket gone: nothing is delivered or loaded any more. */
export interface Closed {
  readonly kind: 'closed';
}

export type SubscriptionState = Loading | Resetting | Live | Closed;
export type SubscriptionStateKind = SubscriptionState['kind'];

type StateOf<K extends SubscriptionStateKind> = Extract<SubscriptionState, { kind: K }>;

/** A transition asked of a state it does not leave from: a bug in the caller, never to be papered over. */
export class ImpossibleTransition extends Error {
  constructor(
    readonly transition: string,
    readonly from: SubscriptionStateKind,
  ) {
    super(`subscription cannot ${transition} while ${from}`);
    this.name = 'ImpossibleTransition';
  }
}

/** `state`, when it is one of `kinds`; throws {@link ImpossibleTransition} otherwise. */
function leaving<K extends SubscriptionStateKind>(
  state: SubscriptionState,
  kinds: readonly K[],
  transition: string,
): StateOf<K> {
  if (!(kinds as readonly SubscriptionStateKind[]).includes(state.kind))
    throw new ImpossibleTransition(transition, state.kind);
  return state as StateOf<K>;
}

const LIVE: Live = { kind: 'live' };
const CLOSED: Closed = { kind: 'closed' };

/** Where every subscription starts: loading, with nothing held. */
export function loading(): Loading {
  return { kind: 'loading', buffer: [], overflowed: false, gap: false };
}

/**
 * Loading or resetting: holds a live event for after the load. Past `max` held events the
 * buffer is dropped and the load replays history again instead; once dropped, nothing more is held.
 */
export function hold(state: SubscriptionState, event: StreamEvent, max: number): Loading | Resetting {
  const from = leaving(state, ['loading', 'resetting'], 'hold a live event');
  if (from.overflowed) return from;
  if (from.buffer.length >= max) return { ...from, buffer: [], overflowed: true };
  from.buffer.push(event);
  return from;
}

/**
 * Loading or live: meets a reset. What was held is dropped (the snapshot after the reset
 * covers it); a load keeps its overflow and gap, a live subscription starts a load without them.
 */
export function meetReset(state: SubscriptionState, reason: ResetReason): Resetting {
  const from = leaving(state, ['loading', 'live'], 'meet a reset');
  if (from.kind === 'live') return { kind: 'resetting', reason, buffer: [], overflowed: false, gap: false };
  return { kind: 'resetting', reason, buffer: [], overflowed: from.overflowed, gap: from.gap };
}

/** Resetting: the loader took the reason (to send `reset`); the load goes on holding events. */
export function takeReset(state: SubscriptionState): Loading {
  const { buffer, overflowed, gap } = leaving(state, ['resetting'], 'take a reset');
  return { kind: 'loading', buffer, overflowed, gap };
}

/** Loading or resetting: the loader learnt of the overflow and replays history again. */
export function takeOverflow(state: SubscriptionState): Loading | Resetting {
  return { ...leaving(state, ['loading', 'resetting'], 'take an overflow'), overflowed: false };
}

/**
 * Loading or resetting: `reset` went out and a snapshot follows, so neither dropped live events
 * nor a gap in the stream concern the load any more. A reset met meanwhile stays to be taken.
 */
export function startOver(state: SubscriptionState): Loading | Resetting {
  return { ...leaving(state, ['loading', 'resetting'], 'start over'), overflowed: false, gap: false };
}

/** Loading or resetting: hands the held events over to be delivered, holding none. */
export function release(state: SubscriptionState): { state: Loading | Resetting; events: StreamEvent[] } {
  const from = leaving(state, ['loading', 'resetting'], 'release held events');
  return { state: { ...from, buffer: [] }, events: from.buffer };
}

/** Loading, with every held event delivered and no reset met: from now on events are delivered as offered. */
export function goLive(state: SubscriptionState): Live {
  leaving(state, ['loading'], 'go live');
  return LIVE;
}

/**
 * Live or loading: this gateway's stream lost entries. A live subscription starts a load from
 * its position (a trimmed history then being a `stream_gap`); a load drops what it holds (it
 * may have the same hole) and replays history again, keeping its gap and any reset met.
 */
export function resync(state: SubscriptionState): Loading | Resetting {
  const from = leaving(state, ['live', 'loading', 'resetting'], 'resync');
  if (from.kind === 'live') return { kind: 'loading', buffer: [], overflowed: false, gap: true };
  return { ...from, buffer: [], overflowed: true };
}

/** From any state, once and for good (closing twice is closing). */
export function close(): Closed {
  return CLOSED;
}
