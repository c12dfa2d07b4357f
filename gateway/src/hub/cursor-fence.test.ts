import { parseCursor, toFilter } from '@orders/contract';
import { orderAt } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { Visibility } from '../snapshot/visibility.ts';
import { ChangeFanout } from './change-fanout.ts';
import { SourceProgress } from './source-progress.ts';
import { Subscription } from './subscription.ts';
import { recordingConnection } from './testing/recording-connection.ts';

const EPOCH = 'e1';
/** The WAL position the client's snapshot was read before. */
const FENCE = 1_000n;

/** An update of order `id` to `version`, written at WAL position `lsn` in `partition`, by transaction `txId`. */
const update = (
  id: string,
  orderId: number,
  version: number,
  lsn: bigint,
  partition = 0,
  txId = 900,
): ChangeFanout =>
  new ChangeFanout(
    {
      id,
      change: {
        op: 'update',
        row: orderAt(orderId, version),
        before: orderAt(orderId, version - 1),
        committedAt: 1,
        txId,
        lsn: String(lsn),
        kafka: { topic: 't', partition, offset: '0', timestamp: 0 },
      },
    },
    EPOCH,
  );

function harness() {
  const { conn, texts, changes } = recordingConnection();
  const sub = new Subscription('s1', toFilter({}), conn, 100);
  sub.epoch = EPOCH;
  sub.position = '5-0';
  const progress = new SourceProgress();
  sub.progress = progress;
  return { sub, texts, changes, progress };
}

describe('a subscription resumed from a fenced cursor', () => {
  it('resets (cursor_expired) at a change written before the fence, sending nothing of it', () => {
    const { sub, changes } = harness();
    sub.fenceAt(FENCE, false);
    sub.deliver(update('6-0', 1, 2, FENCE + 5n));
    sub.deliver(update('7-0', 2, 7, FENCE - 1n));
    expect(changes().map((c) => c.row.id)).toEqual([1]);
    expect(sub.takeReset()).toBe('cursor_expired');
  });

  it('takes a change of unknown position as one that may be before the fence', () => {
    const { sub, changes } = harness();
    sub.fenceAt(FENCE, false);
    const unknown = update('6-0', 1, 2, 0n);
    unknown.entry.change.lsn = '';
    sub.deliver(unknown);
    expect(changes()).toEqual([]);
    expect(sub.takeReset()).toBe('cursor_expired');
  });

  it('passes over changes before the fence that do not concern it', () => {
    const { sub, changes } = harness();
    const customer = new Subscription('s2', toFilter({ customer: 'Bob' }), sub.conn, 100);
    customer.epoch = EPOCH;
    customer.position = '5-0';
    customer.fenceAt(FENCE, false);
    customer.deliver(update('6-0', 1, 2, FENCE - 1n));
    expect(customer.takeReset()).toBeUndefined();
    expect(customer.position).toBe('6-0');
    expect(changes()).toEqual([]);
  });

  it('carries the fence on its cursors, and drops it once every partition is past it while live', () => {
    const { sub, changes, texts, progress } = harness();
    sub.fenceAt(FENCE, false);
    sub.goLive(false);
    sub.deliver(update('6-0', 1, 2, FENCE + 1n, 0));
    // Partition count unknown: nothing is settled.
    progress.observe(0, String(FENCE + 1n));
    progress.observe(1, String(FENCE + 2n));
    sub.deliver(update('7-0', 1, 3, FENCE + 3n, 1));
    // Two partitions, one of them not yet past the fence.
    progress.partitions = 2;
    progress.observe(1, String(FENCE + 3n));
    progress.observe(0, String(FENCE - 10n));
    expect(progress.settled).toBe(FENCE + 1n);
    const [first, second] = changes();
    expect(parseCursor(first?.cursor ?? '')).toMatchObject({ cursor: { id: '6-0' }, fence: FENCE });
    expect(parseCursor(second?.cursor ?? '')).toMatchObject({ cursor: { id: '7-0' }, fence: FENCE });
    // Both partitions past the fence: a third partition would keep it, two do not.
    progress.partitions = 3;
    sub.deliver(update('8-0', 1, 4, FENCE + 4n, 0));
    expect(changes()[2]?.cursor).toBe(`${EPOCH}.8-0@${FENCE}`);
    progress.partitions = 2;
    sub.deliver(update('9-0', 1, 5, FENCE + 5n, 0));
    expect(changes()[3]?.cursor).toBe(`${EPOCH}.9-0`);
    expect(sub.fence).toBeUndefined();
    // Unfenced, the frame is the event's shared one again.
    const shared = update('10-0', 2, 2, FENCE + 6n);
    sub.deliver(shared);
    expect(texts.at(-1)).toBe(shared.frame('s1', 'upsert'));
    expect(sub.takeReset()).toBeUndefined();
  });

  it('keeps the fence while loading, however far the partitions are', () => {
    const { sub, progress } = harness();
    sub.fenceAt(FENCE, false);
    progress.partitions = 1;
    progress.observe(0, String(FENCE + 100n));
    expect(sub.state.kind).toBe('loading');
    expect(sub.cursor).toBe(`${EPOCH}.5-0@${FENCE}`);
    sub.goLive(false);
    expect(sub.cursor).toBe(`${EPOCH}.5-0`);
  });
});

describe('a subscription that read its own snapshot', () => {
  it('judges changes before its fence by the pages, without a reset', () => {
    const { sub, changes } = harness();
    // The page saw transactions below 900 and was read before WAL position FENCE.
    sub.known.pageRead(0, Visibility.parse('900:900:', String(FENCE)));
    sub.fenceAt(sub.known.fence, true);
    expect(sub.fence).toBe(FENCE);
    sub.deliver(update('6-0', 1, 2, FENCE - 5n, 0, 899));
    sub.deliver(update('7-0', 2, 2, FENCE - 4n, 0, 901));
    expect(changes().map((c) => c.row.id)).toEqual([2]);
    expect(changes()[0]?.cursor).toBe(`${EPOCH}.7-0@${FENCE}`);
    expect(sub.takeReset()).toBeUndefined();
  });

  it('has no fence when a page lacks its WAL position', () => {
    const { sub } = harness();
    sub.known.pageRead(0, Visibility.parse('900:900:', String(FENCE)));
    sub.known.pageRead(10, Visibility.parse('901:901:'));
    expect(sub.known.fence).toBeUndefined();
  });
});

describe('SourceProgress', () => {
  it('settles at the lowest of the partitions’ highest positions, once all have delivered one', () => {
    const progress = new SourceProgress();
    progress.observe(0, '50');
    progress.observe(1, '70');
    expect(progress.settled).toBe(0n);
    progress.partitions = 3;
    expect(progress.settled).toBe(0n);
    progress.observe(2, '60');
    expect(progress.settled).toBe(50n);
    progress.observe(0, '40');
    expect(progress.settled).toBe(50n);
    progress.observe(0, '90');
    expect(progress.settled).toBe(60n);
    progress.observe(1, 'x');
    progress.observe(1, '');
    expect(progress.settled).toBe(60n);
    progress.partitions = 4;
    expect(progress.settled).toBe(0n);
  });
});
