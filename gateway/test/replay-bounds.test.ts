/**
 * A client resuming from a cursor costs the gateway a bounded amount: its history replay
 * reads pages in the same slots as snapshot queries (per gateway and per socket), and a
 * cursor further behind the history head than the replay bound is answered with `reset`
 * (`cursor_expired`) and a snapshot, never an unbounded replay.
 */

import { parseCursor } from '@orders/contract';
import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotScheduler } from '../src/snapshot/snapshot-scheduler.ts';
import { createFakeWorker, type FakeWorker } from './support/fake-worker.ts';
import { viewOf } from './support/frame-view.ts';
import { is, type RawSocket, RawSocketPool } from './support/raw-socket.ts';
import { diffRows } from './support/recorder.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { lockOrders } from './support/table-lock.ts';
import { until } from './support/wait.ts';

/** Small enough to pass with a few dozen writes; pages of 10 make the bound fall mid-replay. */
const REPLAY_MAX = 40;
const REPLAY_PAGE = 10;

describe('replay from a cursor is scheduled and bounded', () => {
  let h: GatewayHarness;
  let worker: FakeWorker;
  const pool = new RawSocketPool();

  beforeAll(async () => {
    h = await createHarness();
    worker = createFakeWorker(h.redis, h.keys, h.db.sql);
    for (const customer of ['Alice', 'Bob', 'Carol']) await worker.insert(customer);
  });
  afterAll(async () => {
    pool.closeAll();
    await h?.close();
  });

  /** A cursor at the history head now, from a subscription that went live (then is dropped). */
  const cursorNow = async (url: string): Promise<string> => {
    const s = await pool.open(url);
    s.send({ type: 'subscribe', sub: 'probe' });
    const live = await s.next(is('live', 'probe'));
    s.close();
    return live.cursor;
  };

  /** `count` updates spread over the orders, each one entry in history. */
  const writeChanges = async (count: number): Promise<void> => {
    const ids = [...(await worker.rows()).keys()];
    const statuses = ['paid', 'shipped', 'pending'] as const;
    for (let i = 0; i < count; i++) {
      const id = ids[i % ids.length] ?? 1;
      await worker.update(id, { status: statuses[i % statuses.length] ?? 'paid' });
    }
  };

  const converged = async (s: RawSocket, sub: string) => {
    let diff: string | undefined;
    await until(async () => {
      diff = diffRows(viewOf(s.frames, sub).rows, await worker.rows());
      return diff === undefined;
    }, `${sub} to equal the database`).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${diff}`);
    });
    const view = viewOf(s.frames, sub);
    expect(view.duplicates).toEqual([]);
    expect(view.regressions).toEqual([]);
    return view;
  };

  it(`resumes a cursor ${REPLAY_MAX} entries behind without a snapshot`, async () => {
    const gw = await h.start('bound-within', {
      tuning: {
        replayPage: REPLAY_PAGE,
        snapshotScheduler: new SnapshotScheduler({ replayMaxEntries: REPLAY_MAX }),
      },
    });
    const cursor = await cursorNow(gw.url);
    await writeChanges(REPLAY_MAX);
    const s = await pool.open(gw.url);
    s.send({ type: 'subscribe', sub: 'r', cursor });
    expect((await s.next(is('live', 'r'))).recovered).toBe(true);
    expect(s.frames.filter((f) => f.type === 'change')).toHaveLength(REPLAY_MAX);
    const view = await converged(s, 'r');
    expect(view.resets).toEqual([]);
    expect(view.snapshots).toBe(0);
  });

  it(`[P19] answers a cursor more than ${REPLAY_MAX} entries behind with cursor_expired and a snapshot`, async () => {
    expectFaults({ faults: ['replay_bound'], sub: 'far' });
    const gw = await h.start('bound-past', {
      tuning: {
        replayPage: REPLAY_PAGE,
        snapshotScheduler: new SnapshotScheduler({ replayMaxEntries: REPLAY_MAX }),
      },
    });
    const cursor = await cursorNow(gw.url);
    await writeChanges(REPLAY_MAX * 3);
    // The cursor's own entry is still in history: without the bound it would replay all of it.
    const parsed = parseCursor(cursor);
    if (parsed.kind !== 'cursor') throw new Error(`not a plain cursor: ${cursor}`);
    const { id } = parsed.cursor;
    expect(await h.redis.xRange(h.keys.history, id, id)).toHaveLength(1);
    const s = await pool.open(gw.url);
    s.send({ type: 'subscribe', sub: 'far', cursor });
    expect(await s.next(is('reset', 'far'))).toMatchObject({ reason: 'cursor_expired' });
    expect((await s.next(is('live', 'far'))).recovered).toBe(false);
    // The bound holds before the reset: pages past it are never read, let alone sent.
    const reset = s.frames.findIndex((f) => f.type === 'reset');
    expect(s.frames.slice(0, reset).filter((f) => f.type === 'change').length).toBeLessThanOrEqual(
      REPLAY_MAX,
    );
    const view = await converged(s, 'far');
    expect(view.resets).toEqual(['cursor_expired']);
    expect(view.snapshots).toBe(1);
  });

  it("[P79] reads replay pages in the gateway's snapshot query slots: a resume waits while a snapshot holds the only one", async () => {
    const scheduler = new SnapshotScheduler({ concurrency: 1 });
    const gw = await h.start('bound-global', { tuning: { snapshotScheduler: scheduler } });
    const cursor = await cursorNow(gw.url);
    await writeChanges(3);
    const lock = await lockOrders(h.db.sql);
    try {
      const snapshotting = await pool.open(gw.url);
      snapshotting.send({ type: 'subscribe', sub: 'big' });
      await until(() => scheduler.running === 1, 'the snapshot query to hold the only slot');
      const resuming = await pool.open(gw.url);
      resuming.send({ type: 'subscribe', sub: 'r', cursor });
      await until(() => scheduler.queued === 1, "the resume's replay page to wait for the slot");
      expect(resuming.frames.filter((f) => 'sub' in f && f.sub === 'r')).toEqual([]);
      await lock.release();
      expect((await resuming.next(is('live', 'r'))).recovered).toBe(true);
      await snapshotting.next(is('live', 'big'));
      await converged(resuming, 'r');
      await converged(snapshotting, 'big');
    } finally {
      await lock.release();
    }
  });

  it('[P80] counts a replay among the socket’s loading subscriptions: a resume waits behind its socket’s snapshot', async () => {
    const scheduler = new SnapshotScheduler({ perSocket: 1 });
    const gw = await h.start('bound-socket', { tuning: { snapshotScheduler: scheduler } });
    const cursor = await cursorNow(gw.url);
    await writeChanges(3);
    const lock = await lockOrders(h.db.sql);
    try {
      const s = await pool.open(gw.url);
      s.send({ type: 'subscribe', sub: 'big' });
      await until(() => scheduler.running === 1, 'the snapshot query to run');
      s.send({ type: 'subscribe', sub: 'r', cursor });
      await until(() => scheduler.waitingLoads === 1, 'the resume to wait for the socket’s loading slot');
      expect(s.frames.filter((f) => 'sub' in f && f.sub === 'r')).toEqual([]);
      await lock.release();
      await s.next(is('live', 'big'));
      expect((await s.next(is('live', 'r'))).recovered).toBe(true);
      await converged(s, 'r');
      await converged(s, 'big');
    } finally {
      await lock.release();
    }
  });
});
