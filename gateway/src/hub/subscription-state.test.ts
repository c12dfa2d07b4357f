import { toFilter } from '@orders/contract';
import { describe, expect, it } from 'vitest';
import { MarkerEvent } from './marker-event.ts';
import { Subscription } from './subscription.ts';
import * as state from './subscription-state.ts';
import { ImpossibleTransition, type SubscriptionState } from './subscription-state.ts';
import { recordingConnection } from './testing/recording-connection.ts';

const marker = (id: string) => new MarkerEvent(id, 'truncate', 'e1');
const live = (): SubscriptionState => state.goLive(state.loading());
const resetting = (): SubscriptionState => state.meetReset(state.loading(), 'truncate');
const closed = (): SubscriptionState => state.close();
const every = { loading: state.loading, resetting, live, closed };

/** The kinds of state `transition` throws {@link ImpossibleTransition} from. */
function refusedFrom(transition: (s: SubscriptionState) => unknown): string[] {
  return Object.entries(every).flatMap(([kind, make]) => {
    try {
      transition(make());
      return [];
    } catch (error) {
      if (!(error instanceof ImpossibleTransition)) throw error;
      expect(error.from).toBe(kind);
      return [kind];
    }
  });
}

describe('subscription state transitions', () => {
  it('leave only from the states they name, and throw from any other', () => {
    expect(refusedFrom((s) => state.hold(s, marker('1-0'), 10))).toEqual(['live', 'closed']);
    expect(refusedFrom((s) => state.meetReset(s, 'truncate'))).toEqual(['resetting', 'closed']);
    expect(refusedFrom(state.takeReset)).toEqual(['loading', 'live', 'closed']);
    expect(refusedFrom(state.takeOverflow)).toEqual(['live', 'closed']);
    expect(refusedFrom(state.startOver)).toEqual(['live', 'closed']);
    expect(refusedFrom(state.release)).toEqual(['live', 'closed']);
    expect(refusedFrom(state.goLive)).toEqual(['resetting', 'live', 'closed']);
    expect(refusedFrom(state.resync)).toEqual(['closed']);
    expect(refusedFrom(() => state.close())).toEqual([]);
  });

  it('holds live events up to the cap, then drops them all and holds nothing more', () => {
    let s: SubscriptionState = state.loading();
    s = state.hold(s, marker('1-0'), 2);
    s = state.hold(s, marker('2-0'), 2);
    expect(s).toMatchObject({ kind: 'loading', overflowed: false });
    expect(state.release(s).events.map((e) => e.ms)).toEqual([1, 2]);
    s = state.hold(s, marker('3-0'), 2);
    expect(s).toEqual({ kind: 'loading', buffer: [], overflowed: true, gap: false });
    s = state.hold(s, marker('4-0'), 2);
    expect(s).toEqual({ kind: 'loading', buffer: [], overflowed: true, gap: false });
    expect(state.takeOverflow(s)).toEqual({ kind: 'loading', buffer: [], overflowed: false, gap: false });
  });

  it('meets a reset: a load drops what it holds but keeps overflow and gap; a live one starts a clean load', () => {
    const held = state.hold({ ...state.loading(), overflowed: false, gap: true }, marker('1-0'), 10);
    expect(state.meetReset({ ...held, overflowed: true }, 'resnapshot')).toEqual({
      kind: 'resetting',
      reason: 'resnapshot',
      buffer: [],
      overflowed: true,
      gap: true,
    });
    expect(state.meetReset(live(), 'epoch_changed')).toEqual({
      kind: 'resetting',
      reason: 'epoch_changed',
      buffer: [],
      overflowed: false,
      gap: false,
    });
  });

  it('keeps holding while resetting; taking the reset goes back to loading with what was held', () => {
    const s = state.hold(resetting(), marker('5-0'), 10);
    expect(s.kind).toBe('resetting');
    const taken = state.takeReset(s);
    expect(taken).toMatchObject({ kind: 'loading', overflowed: false, gap: false });
    expect(taken.buffer.map((e) => e.ms)).toEqual([5]);
  });

  it('starts over without overflow or gap, keeping a reset met meanwhile and what is held', () => {
    const loading = state.hold({ ...state.loading(), overflowed: false, gap: true }, marker('1-0'), 10);
    const over = state.startOver({ ...loading, overflowed: true });
    expect(over).toMatchObject({ kind: 'loading', overflowed: false, gap: false });
    expect(over.buffer).toHaveLength(1);
    expect(state.startOver({ ...state.meetReset(loading, 'truncate'), overflowed: true })).toMatchObject({
      kind: 'resetting',
      reason: 'truncate',
      overflowed: false,
      gap: false,
    });
  });

  it('resyncs: live starts a load with a gap; a load drops what it holds and replays again', () => {
    expect(state.resync(live())).toEqual({ kind: 'loading', buffer: [], overflowed: false, gap: true });
    const held = state.hold(state.loading(), marker('1-0'), 10);
    expect(state.resync(held)).toEqual({ kind: 'loading', buffer: [], overflowed: true, gap: false });
    expect(state.resync(resetting())).toMatchObject({
      kind: 'resetting',
      reason: 'truncate',
      overflowed: true,
    });
  });

  it('leaves the state it was given untouched, but for events appended to a buffer', () => {
    const s = state.loading();
    const frozen = { ...s };
    state.meetReset(s, 'truncate');
    state.resync(s);
    state.startOver(s);
    state.goLive(s);
    expect(s).toEqual(frozen);
  });
});

describe('Subscription: transitions it must never make', () => {
  const subscription = () => {
    const { conn, sent } = recordingConnection();
    const sub = new Subscription('s1', toFilter({}), conn, 10);
    sub.epoch = 'e1';
    return { sub, sent };
  };

  it('goes live once: a second goLive throws and sends nothing', () => {
    const { sub, sent } = subscription();
    expect(sub.goLive(false)).toBe(true);
    expect(() => sub.goLive(false)).toThrow(ImpossibleTransition);
    expect(sent.map((f) => f.type)).toEqual(['live']);
  });

  it('throws when asked for an overflow or to start over while live', () => {
    const { sub } = subscription();
    sub.goLive(false);
    expect(() => sub.takeOverflow()).toThrow(ImpossibleTransition);
    expect(() => sub.startOver()).toThrow(ImpossibleTransition);
    expect(sub.state.kind).toBe('live');
  });

  it('once closed, ignores events, resets and resyncs, and goes live without a frame', () => {
    const { sub, sent } = subscription();
    sub.close();
    sub.offer(marker('1-0'));
    sub.deliver(marker('2-0'));
    sub.reset('truncate');
    sub.resync();
    sub.close();
    expect(sub.takeReset()).toBeUndefined();
    expect(sub.takeOverflow()).toBe(false);
    expect(sub.goLive(true)).toBe(true);
    expect(sub.state.kind).toBe('closed');
    expect(sent).toEqual([]);
  });

  it('keeps the first reset it meets: later ones, from the hub or the stream, change nothing', () => {
    const { sub } = subscription();
    sub.deliver(marker('1-0'));
    sub.reset('epoch_changed');
    sub.deliver(new MarkerEvent('2-0', 'resnapshot', 'e1'));
    expect(sub.state).toMatchObject({ kind: 'resetting', reason: 'truncate' });
    expect(sub.takeReset()).toBe('truncate');
    expect(sub.takeReset()).toBeUndefined();
  });
});
