import type { Order, ServerFrame, SnapshotFrame } from '@orders/contract';
import { toFilter } from '@orders/contract';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Metrics } from '../metrics.ts';
import { SnapshotScheduler } from '../snapshot/snapshot-scheduler.ts';
import type { SnapshotSource } from '../snapshot/snapshot-source.ts';
import { Visibility } from '../snapshot/visibility.ts';
import type { HistoryReader } from '../stream/history.ts';
import { Connection } from './connection.ts';
import { KNOWN_VERSIONS_CAP } from './known-versions.ts';
import { type LoadDeps, runSubscription } from './run-subscription.ts';
import { createSendStats } from './send-stats.ts';
import { Subscription } from './subscription.ts';

const order = (id: number): Order => ({
  id,
  customerName: 'Alice',
  productName: 'widget',
  status: 'pending',
  version: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

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
        order(afterId + i + 1),
      ),
      visibility: Visibility.parse('10:10:', '100'),
    }),
  };
  const histogram = { observe: () => {} };
  const deps: LoadDeps = {
    history,
    snapshots,
    scheduler: new SnapshotScheduler(),
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

describe('runSubscription', () => {
  it('goes live after a snapshot that fits the cap of known versions', async () => {
    const { sub, sent, deps, snapshotRows } = load(KNOWN_VERSIONS_CAP);
    await runSubscription(sub, { snapshot: true }, deps);
    expect(snapshotRows()).toBe(KNOWN_VERSIONS_CAP);
    expect(sent.at(-1)).toMatchObject({ type: 'live', sub: 's1' });
  });

  it('refuses a subscription whose snapshot holds more rows than the cap, before sending the row that does not fit', async () => {
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
