import type { Order } from '@orders/contract';
import { toFilter } from '@orders/contract';
import type { StreamChange } from '@orders/contract/redis';
import { order as fixture } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { RowVersions } from '../snapshot/row-versions.ts';
import { Visibility } from '../snapshot/visibility.ts';
import { ChangeFanout } from './change-fanout.ts';
import { MarkerEvent } from './marker-event.ts';
import { Subscription } from './subscription.ts';
import { recordingConnection } from './testing/recording-connection.ts';

const EPOCH = 'e1';

const order = (id: number, version: number, status: Order['status'] = 'pending'): Order =>
  fixture({ id, version, status });

/** The subscription's snapshot showed order `id` at `version`. */
const snapshotHolds = (sub: Subscription, id: number, version: number): void => {
  sub.known.rememberPage(RowVersions.of([fixture({ id, version })]));
};

const change = (id: string, op: StreamChange['op'], row: Order, before: Order | null = null): ChangeFanout =>
  new ChangeFanout(
    {
      id,
      change: {
        op,
        row,
        before,
        committedAt: 1,
        lsn: '',
        kafka: { topic: 't', partition: 0, offset: '0', timestamp: 0 },
      },
    },
    EPOCH,
  );

function harness(maxBuffered = 100) {
  const { conn, sent, texts, changes } = recordingConnection();
  const sub = new Subscription('s1', toFilter({ status: ['pending'] }), conn, maxBuffered);
  sub.epoch = EPOCH;
  return { sub, sent, texts, changes };
}

describe('Subscription', () => {
  it('drops what the snapshot already reflects, by version', () => {
    const { sub, changes } = harness();
    sub.position = '5-0';
    snapshotHolds(sub, 1, 3);
    sub.deliver(change('6-0', 'update', order(1, 2), order(1, 1)));
    sub.deliver(change('7-0', 'update', order(1, 3), order(1, 2)));
    sub.deliver(change('8-0', 'update', order(1, 4), order(1, 3)));
    expect(changes().map((c) => c.row.version)).toEqual([4]);
  });

  it('forgets snapshot versions once live commits are well past the snapshot', () => {
    const { sub } = harness();
    snapshotHolds(sub, 1, 3);
    sub.known.sealed(1_000);
    sub.goLive(false);
    sub.offer(change('6-0', 'update', order(2, 2), order(2, 1)));
    expect(sub.known.size).toBe(1);
    const late = change('7-0', 'update', order(2, 3), order(2, 2));
    late.entry.change.committedAt = 1_000 + 60_001;
    sub.offer(late);
    expect(sub.known.size).toBe(0);
  });

  it('drops changes committed before the snapshot started, also of rows it does not hold', () => {
    // History behind PostgreSQL: a row deleted before the snapshot still has changes to replay.
    const { sub, changes } = harness();
    sub.known.snapshotStarted(10_000, 1_000);
    const stale = change('6-0', 'update', order(7, 5), order(7, 4));
    stale.entry.change.committedAt = 8_999;
    const gone = change('7-0', 'delete', order(7, 5), order(7, 5));
    gone.entry.change.committedAt = 8_999;
    const fresh = change('8-0', 'insert', order(8, 1));
    fresh.entry.change.committedAt = 9_500;
    for (const event of [stale, gone, fresh]) sub.deliver(event);
    expect(changes().map((c) => c.row.id)).toEqual([8]);
  });

  it("drops exactly the changes a page's snapshot saw, also of rows it does not hold", () => {
    // History behind PostgreSQL: order 7 was updated and deleted before page 1 was read, order
    // 600 (page 2's range) was updated after page 1 but before page 2, order 8 after both.
    const { sub, changes } = harness();
    sub.known.snapshotStarted(10_000, 1_000);
    sub.known.pageRead(0, Visibility.parse('100:103:101'));
    sub.known.pageRead(500, Visibility.parse('104:106:'));
    const at = (event: ReturnType<typeof change>, txId: number) => {
      // Commit times alone would let every one of these through.
      event.entry.change.committedAt = 9_900;
      event.entry.change.txId = txId;
      return event;
    };
    const events = [
      at(change('6-0', 'update', order(7, 5), order(7, 4)), 99),
      at(change('7-0', 'delete', order(7, 5), order(7, 5)), 102),
      at(change('8-0', 'update', order(600, 2), order(600, 1)), 103),
      at(change('9-0', 'update', order(8, 2), order(8, 1)), 101),
      at(change('10-0', 'update', order(600, 3), order(600, 2)), 106),
    ];
    for (const event of events) sub.deliver(event);
    expect(changes().map((c) => `${c.row.id}:${c.row.version}`)).toEqual(['8:2', '600:3']);
  });

  it('judges changes by the page snapshot across the 32-bit transaction id wrap, however long it stays open', () => {
    // The page is read just before the 32-bit id wraps (its xmax is 0xffff_ff00 in epoch 3);
    // the subscription then stays live while the ids walk past 2^32 and more than 2^31 beyond
    // xmax, where a 32-bit id placed near xmax lands below it and would look "already seen".
    const { sub, changes } = harness();
    const epoch = 3n * 2n ** 32n;
    const xmax = epoch + 0xffff_ff00n;
    const pageLsn = 1_000_000;
    sub.known.snapshotStarted(10_000, 1_000);
    sub.known.pageRead(0, Visibility.parse(`${xmax - 10n}:${xmax}:${xmax - 5n}`, String(pageLsn)));
    snapshotHolds(sub, 1, 1);
    let entry = 10;
    let version = 1;
    const at = (partition: number, row: Order, txId: bigint, lsn: number | '') => {
      const event = change(`${entry++}-0`, 'update', row, { ...row, version: row.version - 1 });
      event.entry.change.committedAt = 9_900 + entry;
      event.entry.change.txId = Number(txId % 2n ** 32n);
      event.entry.change.lsn = String(lsn);
      event.entry.change.kafka.partition = partition;
      return event;
    };
    // Lagging partition 1: a change the page saw (dropped), one in flight at the page (sent).
    sub.deliver(at(1, order(2, 5), xmax - 7n, pageLsn - 900));
    sub.deliver(at(1, order(2, 6), xmax - 5n, pageLsn - 800));
    // Partition 0 walks 2^33 ids from xmax, through two wraps of the 32-bit id.
    let lsn = pageLsn;
    for (let tx = xmax; tx < xmax + 2n ** 33n; tx += 2n ** 27n) {
      sub.deliver(at(0, order(1, ++version), tx, lsn));
      lsn += 4096;
    }
    // A change without a WAL position whose 32-bit id reads as seen: partition 0 is already
    // past the page, so the page is not asked.
    sub.deliver(at(0, order(1, ++version), xmax + 2n ** 33n - 3n, ''));
    // Partition 2 lagged all along: what the page saw is still dropped, what it did not is sent.
    sub.deliver(at(2, order(3, 4), xmax - 8n, pageLsn - 700));
    sub.deliver(at(2, order(3, 5), xmax - 5n, pageLsn - 600));
    // Partition 3's first change comes after the walk: its WAL position alone says it is new.
    sub.deliver(at(3, order(4, 2), xmax + 2n ** 32n + 2n ** 31n + 9n, lsn + 4096));
    const walk = Array.from({ length: 64 }, (_, i) => `1:${i + 2}`);
    expect(changes().map((c) => `${c.row.id}:${c.row.version}`)).toEqual([
      '2:6',
      ...walk,
      '1:66',
      '3:5',
      '4:2',
    ]);
  });

  it('passes a delete of the version the snapshot holds', () => {
    const { sub, changes } = harness();
    snapshotHolds(sub, 1, 3);
    sub.deliver(change('6-0', 'delete', order(1, 3), order(1, 3)));
    expect(changes()).toMatchObject([{ op: 'delete', effect: 'remove' }]);
  });

  it('drops entries at or below its position', () => {
    const { sub, changes } = harness();
    sub.position = '10-0';
    sub.deliver(change('9-5', 'insert', order(1, 1)));
    sub.deliver(change('10-0', 'insert', order(2, 1)));
    sub.deliver(change('10-1', 'insert', order(3, 1)));
    expect(changes().map((c) => c.row.id)).toEqual([3]);
    expect(sub.position).toBe('10-1');
  });

  it('advances its position past changes outside the filter', () => {
    const { sub, changes } = harness();
    sub.deliver(change('3-0', 'insert', order(1, 1, 'paid')));
    expect(changes()).toHaveLength(0);
    expect(sub.position).toBe('3-0');
  });

  it('[P35] buffers live events while loading and flushes them without duplicates', () => {
    const { sub, sent } = harness();
    sub.offer(change('2-0', 'insert', order(1, 1)));
    sub.offer(change('3-0', 'insert', order(2, 1)));
    expect(sent).toHaveLength(0);
    // Replay already covered 2-0.
    sub.deliver(change('2-0', 'insert', order(1, 1)));
    sub.goLive(false);
    expect(sent.map((f) => (f.type === 'change' ? f.cursor : f.type))).toEqual(['e1.2-0', 'e1.3-0', 'live']);
    sub.offer(change('4-0', 'insert', order(3, 1)));
    expect(sent).toHaveLength(4);
  });

  it('reports buffer overflow so history is replayed instead', () => {
    const { sub } = harness(1);
    sub.offer(change('2-0', 'insert', order(1, 1)));
    sub.offer(change('3-0', 'insert', order(2, 1)));
    expect(sub.takeOverflow()).toBe(true);
    expect(sub.takeOverflow()).toBe(false);
  });

  it('shares one serialized frame between subscribers with the same sub id', () => {
    const a = harness();
    const b = harness();
    const event = change('2-0', 'insert', order(1, 1));
    a.sub.goLive(false);
    b.sub.goLive(false);
    a.sub.offer(event);
    b.sub.offer(event);
    expect(a.texts).toHaveLength(2);
    expect(a.texts[1]).toBe(b.texts[1]);
  });

  it('stops at a reset marker, live or buffered, and asks to be reloaded', () => {
    const { sub, changes } = harness();
    let reloads = 0;
    sub.reloader = { reload: () => reloads++ };
    sub.goLive(false);
    sub.offer(change('2-0', 'insert', order(1, 1)));
    sub.offer(new MarkerEvent('3-0', 'truncate', EPOCH));
    sub.offer(change('4-0', 'insert', order(2, 1)));
    expect(changes().map((c) => c.row.id)).toEqual([1]);
    expect(sub.state.kind).toBe('resetting');
    expect(reloads).toBe(1);
    expect(sub.takeReset()).toBe('truncate');
    expect(sub.state.kind).toBe('loading');

    const buffered = harness();
    buffered.sub.offer(new MarkerEvent('3-0', 'resnapshot', EPOCH));
    expect(buffered.sub.goLive(true)).toBe(false);
    expect(buffered.sub.takeReset()).toBe('resnapshot');
    expect(buffered.sent).toHaveLength(0);
  });

  it('ignores a marker it is already past', () => {
    const { sub } = harness();
    sub.position = '5-0';
    sub.deliver(new MarkerEvent('4-0', 'truncate', EPOCH));
    expect(sub.takeReset()).toBeUndefined();
  });

  it('never compares ids across epochs: an event of another epoch resets', () => {
    const { sub, changes } = harness();
    sub.goLive(false);
    sub.reloader = { reload: () => {} };
    sub.position = '5-0';
    sub.offer(new ChangeFanout(change('9-0', 'insert', order(1, 1)).entry, 'e2'));
    expect(changes()).toHaveLength(0);
    expect(sub.takeReset()).toBe('epoch_changed');
  });

  it('resyncs: a live subscription reloads, a loading one drops its buffer and replays again', () => {
    const live = harness();
    let reloads = 0;
    live.sub.reloader = { reload: () => reloads++ };
    live.sub.goLive(false);
    live.sub.resync();
    expect([live.sub.state.kind, reloads, live.sub.gap]).toEqual(['loading', 1, true]);

    const loading = harness();
    loading.sub.offer(change('2-0', 'insert', order(1, 1)));
    loading.sub.resync();
    expect(loading.sub.takeOverflow()).toBe(true);
    loading.sub.goLive(false);
    expect(loading.changes()).toHaveLength(0);
  });

  it('carries the epoch in every cursor it hands out', () => {
    const { sub, sent } = harness();
    sub.position = '7-1';
    sub.goLive(true);
    expect(sent).toEqual([{ type: 'live', sub: 's1', cursor: 'e1.7-1', recovered: true }]);
  });

  it('sends a before-less move out of the filter only to a subscriber that may hold the row', () => {
    const { sub, changes } = harness();
    sub.held.add(1, 1);
    sub.deliver(change('2-0', 'update', order(1, 2, 'paid')));
    sub.deliver(change('3-0', 'update', order(2, 2, 'paid')));
    expect(changes().map((c) => [c.row.id, c.effect])).toEqual([[1, 'remove']]);
    // A row that entered the view by an upsert is held too.
    sub.deliver(change('4-0', 'update', order(3, 2)));
    sub.deliver(change('5-0', 'update', order(3, 3, 'paid')));
    expect(changes().map((c) => [c.row.id, c.effect])).toEqual([
      [1, 'remove'],
      [3, 'upsert'],
      [3, 'remove'],
    ]);
  });
});
