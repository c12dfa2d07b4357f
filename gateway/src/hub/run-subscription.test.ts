import type { ServerFrame, SnapshotFrame } from '@orders/contract';
import { toFilter } from '@orders/contract';
import { CHANGE_FIELD, type StreamChange } from '@orders/contract/redis';
import { orderAt } from '@orders/contract/testing';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Metrics } from '../metrics.ts';
import { createSendStats } from '../send-stats.ts';
import { SharedSnapshotPages } from '../snapshot/shared-pages.ts';
import { SnapshotScheduler } from '../snapshot/snapshot-scheduler.ts';
import type { SnapshotSource } from '../snapshot/snapshot-source.ts';
import { Visibility } from '../snapshot/visibility.ts';
import type { HistoryReader } from '../stream/history.ts';
import { Connection } from './connection.ts';
import { KNOWN_VERSIONS_CAP } from './known-versions.ts';
import { type LoadDeps, runSubscription } from './run-subscription.ts';
import { Subscription } from './subscription.ts';

/** A table of `rows` orders (ids 1..rows) behind an empty history. */
function load(rows: number) {
  const sent: ServerFrame[] = [];
  const conn = new Connection(
    'c1',
    {
      send: (frame) => sent.push(JSON.parse(frame.text) as ServerFrame),
      bufferedAmount: () => 0,
      close: () => {},
    },
    createSendStats(),
  );
  const history: HistoryReader = {
    groups: 1,
    page: async () => ({ epoch: 'e1', lastId: '5-0', status: 'ok', entries: [] }),
    head: async () => ({ epoch: 'e1', id: '5-0' }),
    heads: async () => [{ epoch: 'e1', id: '5-0' }],
    epoch: async () => 'e1',
  };
  const snapshots: SnapshotSource = {
    page: async (_filter, afterId, limit) => ({
      rows: Array.from({ length: Math.max(0, Math.min(limit, rows - afterId)) }, (_, i) =>
        orderAt(afterId + i + 1, 1),
      ),
      visibility: Visibility.parse('10:10:', '100'),
    }),
  };
  const histogram = { observe: () => {} };
  const scheduler = new SnapshotScheduler();
  const deps: LoadDeps = {
    history,
    pages: new SharedSnapshotPages(snapshots, scheduler),
    scheduler,
    metrics: { snapshotDuration: histogram, replayDuration: histogram } as unknown as Metrics,
    logger: pino({ level: 'silent' }),
    snapshotChunk: 5_000,
    replayPage: 100,
  };
  const sub = new Subscription('s1', toFilter({}), conn, 100);
  const snapshotRows = () =>
    sent.filter((f): f is SnapshotFrame => f.type === 'snapshot').reduce((n, f) => n + f.rows.length, 0);
  return { sub, sent, deps, snapshotRows };
}

// A million rows go through the encoder and back through JSON.parse: seconds of CPU, more on a
// busy machine. The limit only stops a hang; nothing here is timed.
describe('runSubscription', { timeout: 120_000 }, () => {
  it('goes live after a snapshot that fits the cap of known versions', async () => {
    const { sub, sent, deps, snapshotRows } = load(KNOWN_VERSIONS_CAP);
    await runSubscription(sub, { snapshot: true }, deps);
    expect(snapshotRows()).toBe(KNOWN_VERSIONS_CAP);
    expect(sent.at(-1)).toMatchObject({ type: 'live', sub: 's1' });
  });

  it('[P82] refuses a subscription whose snapshot holds more rows than the cap, before sending the row that does not fit', async () => {
    const { sub, sent, deps, snapshotRows } = load(KNOWN_VERSIONS_CAP + 1);
    await expect(runSubscription(sub, { snapshot: true }, deps)).rejects.toMatchObject({
      code: 'too_large',
      message: expect.stringContaining(String(KNOWN_VERSIONS_CAP)),
    });
    expect(snapshotRows()).toBeLessThanOrEqual(KNOWN_VERSIONS_CAP);
    expect(sent.some((f) => f.type === 'snapshot' && f.done)).toBe(false);
    expect(sent.some((f) => f.type === 'live')).toBe(false);
    expect(sub.known.size).toBe(0);
  });
});

/** `count` updates of order 1 in history, with ids `1-0` … `<count>-0` (version = ms + 1). */
function historyOf(count: number, onPage?: () => Promise<void>): HistoryReader {
  const entries = Array.from({ length: count }, (_, i) => {
    const change: StreamChange = {
      op: 'update',
      row: orderAt(1, i + 2),
      before: orderAt(1, i + 1),
      committedAt: 1,
      lsn: String(i + 1),
      kafka: { topic: 't', partition: 0, offset: String(i), timestamp: 0 },
    };
    return { id: `${i + 1}-0`, fields: { [CHANGE_FIELD]: JSON.stringify(change) } };
  });
  const head = `${count}-0`;
  return {
    groups: 1,
    page: async (after, limit) => {
      await onPage?.();
      const ms = Number(after.split('-')[0]);
      return { epoch: 'e1', lastId: head, status: 'ok', entries: entries.slice(ms, ms + limit) };
    },
    head: async () => ({ epoch: 'e1', id: head }),
    heads: async () => [{ epoch: 'e1', id: head }],
    epoch: async () => 'e1',
  };
}

/** A socket whose frames are kept. */
/**
 * A connection whose stand-in socket records its writes as a real one makes them: each frame
 * its own write, except that frames sent while corked leave together at the uncork.
 */
function socket(id: string) {
  const sent: ServerFrame[] = [];
  const writes: string[][] = [];
  let corked: string[] | undefined;
  const conn = new Connection(
    id,
    {
      send: (frame) => {
        const parsed = JSON.parse(frame.text) as ServerFrame;
        sent.push(parsed);
        if (corked === undefined) writes.push([parsed.type]);
        else corked.push(parsed.type);
      },
      bufferedAmount: () => 0,
      close: () => {},
      cork: () => {
        corked ??= [];
      },
      uncork: () => {
        if (corked !== undefined && corked.length > 0) writes.push(corked);
        corked = undefined;
      },
    },
    createSendStats(),
  );
  return { conn, sent, writes };
}

function depsWith(history: HistoryReader, scheduler: SnapshotScheduler, replayPage = 10): LoadDeps {
  const histogram = { observe: () => {} };
  return {
    history,
    pages: new SharedSnapshotPages(
      {
        page: async (_filter, afterId) => ({
          rows: afterId === 0 ? [orderAt(1, 1_000)] : [],
          visibility: Visibility.parse('10:10:', '100'),
        }),
      },
      scheduler,
    ),
    scheduler,
    metrics: { snapshotDuration: histogram, replayDuration: histogram } as unknown as Metrics,
    logger: pino({ level: 'silent' }),
    snapshotChunk: 500,
    replayPage,
  };
}

/** A subscription resumed from `<epoch e1>.<at>`: by default 29 entries behind a history of 30. */
function resumed(conn: Connection, id: string, at = '1-0'): Subscription {
  const sub = new Subscription(id, toFilter({}), conn, 100);
  sub.setPositions([{ epoch: 'e1', id: at }]);
  sub.held.forget();
  conn.subs.set(id, sub);
  return sub;
}

describe('runSubscription: replay from a cursor', () => {
  it('[P79] reads history pages in the scheduler’s gateway-wide slots, as snapshot pages do', async () => {
    let reading = 0;
    let most = 0;
    const history = historyOf(30, async () => {
      most = Math.max(most, ++reading);
      await new Promise((resolve) => setTimeout(resolve, 5));
      reading--;
    });
    const deps = depsWith(history, new SnapshotScheduler({ concurrency: 1, perSocket: 4 }));
    const loads = ['a', 'b', 'c'].map((id) =>
      runSubscription(resumed(socket(id).conn, 's1'), { snapshot: false }, deps),
    );
    await Promise.all(loads);
    expect(most).toBe(1);
  });

  it('[P80] counts a replay against the socket’s loads, as a snapshot is counted', async () => {
    let reading = 0;
    let most = 0;
    const history = historyOf(30, async () => {
      most = Math.max(most, ++reading);
      await new Promise((resolve) => setTimeout(resolve, 5));
      reading--;
    });
    const deps = depsWith(history, new SnapshotScheduler({ concurrency: 4, perSocket: 1 }));
    const { conn, sent } = socket('c1');
    const loads = ['s1', 's2', 's3'].map((id) =>
      runSubscription(resumed(conn, id), { snapshot: false }, deps),
    );
    await Promise.all(loads);
    expect(most).toBe(1);
    expect(
      sent.filter((f) => f.type === 'live').map((f) => (f.type === 'live' ? f.recovered : undefined)),
    ).toEqual([true, true, true]);
  });

  it('resumes a cursor exactly replayMaxEntries behind the head', async () => {
    const deps = depsWith(historyOf(30), new SnapshotScheduler({ replayMaxEntries: 29 }));
    const { conn, sent } = socket('c1');
    await runSubscription(resumed(conn, 's1'), { snapshot: false }, deps);
    expect(sent.some((f) => f.type === 'reset')).toBe(false);
    expect(sent.filter((f) => f.type === 'change')).toHaveLength(29);
    expect(sent.at(-1)).toMatchObject({ type: 'live', recovered: true });
  });

  it('[P19] answers a cursor more than replayMaxEntries behind with cursor_expired and a snapshot, without replaying all of it', async () => {
    let pages = 0;
    const deps = depsWith(
      historyOf(1_000, async () => {
        pages++;
      }),
      new SnapshotScheduler({ replayMaxEntries: 25 }),
    );
    const { conn, sent } = socket('c1');
    await runSubscription(resumed(conn, 's1'), { snapshot: false }, deps);
    const reset = sent.findIndex((f) => f.type === 'reset');
    expect(sent[reset]).toMatchObject({ type: 'reset', sub: 's1', reason: 'cursor_expired' });
    expect(sent.slice(0, reset).filter((f) => f.type === 'change').length).toBeLessThanOrEqual(25);
    expect(sent.slice(reset + 1).map((f) => f.type)).toEqual(['snapshot', 'live']);
    expect(sent.at(-1)).toMatchObject({ type: 'live', recovered: false });
    // Pages up to the bound, then the snapshot's one replay page after the head.
    expect(pages).toBeLessThanOrEqual(5);
  });

  it('bounds the replay of a live subscription refilling a hole in its stream the same way, with stream_gap', async () => {
    const deps = depsWith(historyOf(1_000), new SnapshotScheduler({ replayMaxEntries: 25 }));
    const { conn, sent } = socket('c1');
    const sub = resumed(conn, 's1');
    // Live at its cursor when the stream lost entries: it reloads from there (the loader is this test).
    sub.goLive(true);
    sub.resync();
    expect(sub.gap).toBe(true);
    sent.length = 0;
    await runSubscription(sub, { snapshot: false }, deps);
    expect(sent.find((f) => f.type === 'reset')).toMatchObject({ sub: 's1', reason: 'stream_gap' });
    expect(sent.at(-1)).toMatchObject({ type: 'live', recovered: false });
  });

  it('does not bound the replay that follows the subscription’s own snapshot', async () => {
    // Every entry in history arrived while the snapshot was read: the head was read before it.
    const history = { ...historyOf(100), heads: async () => [{ epoch: 'e1', id: '0-0' }] };
    const deps = depsWith(history, new SnapshotScheduler({ replayMaxEntries: 25 }));
    const { conn, sent } = socket('c1');
    const sub = new Subscription('s1', toFilter({}), conn, 100);
    conn.subs.set('s1', sub);
    await runSubscription(sub, { snapshot: true }, deps);
    expect(sent.some((f) => f.type === 'reset')).toBe(false);
    expect(sent.at(-1)).toMatchObject({ type: 'live', recovered: false });
  });
});

describe('runSubscription: the order of frames without a cursor', () => {
  it('[P16] sends the snapshot, then the changes committed after its cursor replayed from history, then live', async () => {
    // Three inserts appended after the head the snapshot was positioned at, written past the
    // WAL position its page read: the snapshot cannot show them, so they must follow it.
    const entries = [2, 3, 4].map((id, i) => {
      const change: StreamChange = {
        op: 'insert',
        row: orderAt(id, 1),
        before: null,
        // Committed now, after the snapshot began: not taken as reflected in it by age.
        committedAt: Date.now(),
        lsn: String(200 + i),
        kafka: { topic: 't', partition: 0, offset: String(i), timestamp: 0 },
      };
      return { id: `${i + 1}-0`, fields: { [CHANGE_FIELD]: JSON.stringify(change) } };
    });
    const history: HistoryReader = {
      groups: 1,
      page: async (after, limit) => {
        const ms = Number(after.split('-')[0]);
        return { epoch: 'e1', lastId: '3-0', status: 'ok', entries: entries.slice(ms, ms + limit) };
      },
      head: async () => ({ epoch: 'e1', id: '0-0' }),
      heads: async () => [{ epoch: 'e1', id: '0-0' }],
      epoch: async () => 'e1',
    };
    const deps = depsWith(history, new SnapshotScheduler());
    const { conn, sent } = socket('c1');
    const sub = new Subscription('s1', toFilter({}), conn, 100);
    conn.subs.set('s1', sub);
    await runSubscription(sub, { snapshot: true }, deps);
    expect(sent.map((f) => f.type)).toEqual(['snapshot', 'change', 'change', 'change', 'live']);
    const [snapshot] = sent;
    expect(snapshot).toMatchObject({ type: 'snapshot', done: true, rows: [{ id: 1 }] });
    expect(sent.flatMap((f) => (f.type === 'change' ? [f.row.id] : []))).toEqual([2, 3, 4]);
    expect(sent.at(-1)).toMatchObject({ type: 'live', sub: 's1', recovered: false });
  });

  it('sends the snapshot’s last frame and live in one socket write when the replay between them finds nothing', async () => {
    const history: HistoryReader = {
      groups: 1,
      page: async () => ({ epoch: 'e1', lastId: '0-0', status: 'ok', entries: [] }),
      head: async () => ({ epoch: 'e1', id: '0-0' }),
      heads: async () => [{ epoch: 'e1', id: '0-0' }],
      epoch: async () => 'e1',
    };
    const { conn, writes } = socket('c1');
    const sub = new Subscription('s1', toFilter({}), conn, 100);
    conn.subs.set('s1', sub);
    await runSubscription(sub, { snapshot: true }, depsWith(history, new SnapshotScheduler()));
    expect(writes).toEqual([['snapshot', 'live']]);
  });

  it('sends the snapshot’s last frame before the reset when the replay after it ends in one', async () => {
    // The first replay meets another epoch than the heads it started from; the second load is clean.
    let epoch = 'e1';
    const history: HistoryReader = {
      groups: 1,
      page: async () => {
        const page = { epoch: 'e2', lastId: '0-0', status: 'ok' as const, entries: [] };
        epoch = 'e2';
        return page;
      },
      head: async () => ({ epoch, id: '0-0' }),
      heads: async () => [{ epoch, id: '0-0' }],
      epoch: async () => epoch,
    };
    const { conn, sent } = socket('c1');
    const sub = new Subscription('s1', toFilter({}), conn, 100);
    conn.subs.set('s1', sub);
    await runSubscription(sub, { snapshot: true }, depsWith(history, new SnapshotScheduler()));
    expect(sent.map((f) => f.type)).toEqual(['snapshot', 'reset', 'snapshot', 'live']);
    expect(sent[0]).toMatchObject({ done: true });
    expect(sent[1]).toMatchObject({ reason: 'epoch_changed' });
  });
});

describe('runSubscription: a live subscription refilling a hole in its stream', () => {
  it('[P28] replays history after its own position through the snapshot’s page visibility and versions: nothing the snapshot showed is sent again', async () => {
    // History lags behind PostgreSQL: empty when the snapshot is read, it receives afterwards a
    // backlog the snapshot already showed (transaction 5, seen by the page) and then one new change.
    const entries: { id: string; fields: Record<string, string> }[] = [];
    const append = (id: string, version: number, txId: number, lsn: string) => {
      const change: StreamChange = {
        op: 'update',
        row: orderAt(1, version),
        before: orderAt(1, version - 1),
        committedAt: Date.now(),
        lsn,
        txId,
        kafka: { topic: 't', partition: 0, offset: id, timestamp: 0 },
      };
      entries.push({ id, fields: { [CHANGE_FIELD]: JSON.stringify(change) } });
    };
    const history: HistoryReader = {
      groups: 1,
      page: async (after, limit) => {
        const from = entries.findIndex((e) => Number(e.id.split('-')[0]) > Number(after.split('-')[0]));
        const head = entries.at(-1)?.id ?? '0-0';
        return {
          epoch: 'e1',
          lastId: head,
          status: 'ok',
          entries: from < 0 ? [] : entries.slice(from, from + limit),
        };
      },
      head: async () => ({ epoch: 'e1', id: entries.at(-1)?.id ?? '0-0' }),
      heads: async () => [{ epoch: 'e1', id: entries.at(-1)?.id ?? '0-0' }],
      epoch: async () => 'e1',
    };
    const deps = depsWith(history, new SnapshotScheduler());
    const { conn, sent } = socket('c1');
    const sub = new Subscription('s1', toFilter({}), conn, 100);
    conn.subs.set('s1', sub);
    let reload: Promise<void> | undefined;
    sub.reloader = {
      reload: () => {
        reload = runSubscription(sub, { snapshot: false }, deps);
      },
    };
    // The snapshot shows order 1 at version 1000, read by a statement that saw transactions below 10.
    await runSubscription(sub, { snapshot: true }, deps);
    expect(sent.at(-1)).toMatchObject({ type: 'live', recovered: false });

    // The backlog reaches history (its versions are below the snapshot's), then a new change;
    // the gateway's stream lost all of them: the subscription resyncs from its position.
    append('1-0', 998, 5, '40');
    append('2-0', 999, 5, '50');
    append('3-0', 1000, 5, '60');
    append('4-0', 1001, 20, '150');
    const before = sent.length;
    sub.resync();
    expect(reload).toBeDefined();
    await reload;

    const after = sent.slice(before);
    const versions = after.flatMap((f) => (f.type === 'change' ? [f.row.version] : []));
    expect(versions).toEqual([1001]);
    expect(after.some((f) => f.type === 'reset')).toBe(false);
    expect(after.at(-1)).toMatchObject({ type: 'live', recovered: true });
  });
});
