/**
 * "A client gets every change, or an explicit reset": lost Redis data, holes in a gateway's
 * own stream, trimmed history, reset markers and cursors from before epochs, each checked at
 * frame level (nothing twice, versions rising) and against the database at the end.
 */

import type { SubscriptionFilter as FilterInput } from '@orders/client';
import { parseCursor } from '@orders/contract';
import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/node-server.ts';
import { matcher } from './support/convergence.ts';
import {
  type ContractWriter,
  createContractWriter,
  createFakeWorker,
  type FakeWorker,
} from './support/fake-worker.ts';
import { viewOf } from './support/frame-view.ts';
import { type OrderRecord, toOrder } from './support/order-record.ts';
import { is, openRaw, type RawSocket } from './support/raw-socket.ts';
import { diffRows } from './support/recorder.ts';
import { createHarness, dropNamespace, type GatewayHarness } from './support/services.ts';
import { until } from './support/wait.ts';

describe('no silent gap between history, gateway streams and clients', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  let writer: ContractWriter;
  let worker: FakeWorker;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('gap-a');
    writer = createContractWriter(h.redis, h.keys);
    worker = createFakeWorker(h.redis, h.keys, h.db.sql, writer);
    for (const customer of ['Alice', 'Bob', 'Carol', 'Alice', 'Bob']) await worker.insert(customer);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await h?.close();
  });

  const open = async (): Promise<RawSocket> => {
    const s = await openRaw(gw.url);
    sockets.push(s);
    await s.next(is('welcome'));
    return s;
  };

  const subscribe = async (sub: string, filter?: FilterInput, cursor?: string): Promise<RawSocket> => {
    const s = await open();
    s.send({
      type: 'subscribe',
      sub,
      ...(filter === undefined ? {} : { filter }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    await s.next(is('live', sub));
    return s;
  };

  /** The frames of `sub` add up to the database's rows, with nothing twice and no version going back. */
  const converged = async (s: RawSocket, sub: string, filter: FilterInput = {}) => {
    let diff: string | undefined;
    await until(async () => {
      diff = diffRows(viewOf(s.frames, sub).rows, await worker.rows(matcher(filter)));
      return diff === undefined;
    }, `${sub} to equal the database`).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${diff}`);
    });
    const view = viewOf(s.frames, sub);
    expect(view.duplicates).toEqual([]);
    expect(view.regressions).toEqual([]);
    return view;
  };

  const lastCursor = (s: RawSocket, sub: string): string => {
    const frame = s.frames.findLast((f) => (f.type === 'change' || f.type === 'live') && f.sub === sub);
    if (frame === undefined || !('cursor' in frame)) throw new Error(`no cursor for ${sub}`);
    return frame.cursor;
  };

  it('[P29] puts the epoch in every cursor it hands out', async () => {
    const epoch = await h.redis.get(h.keys.epoch);
    expect(epoch).not.toBeNull();
    const s = await subscribe('e');
    await worker.insert('Dave');
    const change = await s.next(is('change', 'e'));
    s.send({ type: 'ping' });
    const pong = await s.next(is('pong'));
    const snapshot = s.frames.find((f) => f.type === 'snapshot');
    const live = s.frames.find((f) => f.type === 'live');
    for (const cursor of [snapshot?.cursor, live?.cursor, change.cursor, pong.cursors?.e])
      expect(cursor).toMatch(new RegExp(`^${epoch}\\.\\d+-\\d+(@\\d+)?$`));
    await converged(s, 'e');
  });

  it('[P31] answers a cursor from before epochs with reset and a snapshot', async () => {
    expectFaults({ faults: ['legacy_cursor'], sub: 'old' });
    const [entry] = (await h.redis.xRevRange(h.keys.history, '+', '-', { COUNT: 1 })) ?? [];
    if (entry === undefined) throw new Error('empty history');
    const s = await open();
    s.send({ type: 'subscribe', sub: 'old', cursor: entry.id });
    expect(await s.next(is('reset', 'old'))).toMatchObject({ reason: 'epoch_changed' });
    expect((await s.next(is('live', 'old'))).recovered).toBe(false);
    expect(s.frames.some((f) => f.type === 'change')).toBe(false);
    const view = await converged(s, 'old');
    expect(view.snapshots).toBe(1);
  });

  it('[P27] fills a hole in its own stream from history: the missed changes arrive once, in order, without reset', async () => {
    const all = await subscribe('all');
    const alice = await subscribe('alice', { customer: 'Alice' });
    const target = await worker.insert('Alice');
    await all.next(is('change', 'all'));
    // The update to v2 is lost from the gateway's stream; the one to v3 names it as predecessor.
    writer.loseNext(gw.gatewayId);
    await worker.update(target.id, { status: 'paid' });
    await worker.update(target.id, { status: 'shipped' });
    const missed = await worker.insert('Alice');

    for (const [s, sub] of [
      [all, 'all'],
      [alice, 'alice'],
    ] as const) {
      const view = await converged(s, sub, sub === 'all' ? {} : { customer: 'Alice' });
      expect(view.resets).toEqual([]);
      const versions = s.frames
        .filter((f) => f.type === 'change' && f.sub === sub && f.row.id === target.id)
        .map((f) => (f.type === 'change' ? f.row.version : 0));
      expect(versions).toEqual([1, 2, 3]);
      expect(viewOf(s.frames, sub).rows.has(missed.id)).toBe(true);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${gw.port}/metrics`)).text();
    expect(metrics).toMatch(/gateway_stream_breaks_total\{kind="predecessor"\} [1-9]/);
  });

  it('[P27] after a heartbeat lapse (the worker may have skipped it) fills the hole from history', async () => {
    // A TTL barely above the heartbeat interval makes every heartbeat look like the end of a lapse.
    const lapsing = await h.start('gap-lapse', { heartbeatIntervalMs: 300, gatewayTtlMs: 400 });
    const s = await openRaw(lapsing.url);
    sockets.push(s);
    await s.next(is('welcome'));
    s.send({ type: 'subscribe', sub: 'lapse' });
    await s.next(is('live', 'lapse'));
    // Left out of this gateway's stream altogether: the predecessor chain shows nothing.
    writer.skipNext(lapsing.gatewayId);
    const skipped = await worker.insert('Lapse');
    await until(() => viewOf(s.frames, 'lapse').rows.has(skipped.id), 'the skipped insert');
    const view = await converged(s, 'lapse');
    expect(view.resets).toEqual([]);
    s.close();
    await lapsing.shutdown();
  });

  it('[P22][P37] resets when history no longer reaches back to fill a hole', async () => {
    // Every subscription on the gateway lost the entries, not only the one watched.
    expectFaults({ faults: ['stream_hole'] });
    const s = await subscribe('trim');
    const row = await worker.insert('Erin');
    await s.next(is('change', 'trim'));
    writer.loseNext(gw.gatewayId);
    await worker.update(row.id, { status: 'paid' });
    await h.redis.xTrim(h.keys.history, 'MAXLEN', 0);
    await worker.update(row.id, { status: 'delivered' });
    expect(await s.next(is('reset', 'trim'))).toMatchObject({ reason: 'stream_gap' });
    const view = await converged(s, 'trim');
    expect(view.resets).toEqual(['stream_gap']);
    expect(view.rows.get(row.id)?.status).toBe('delivered');
  });

  it('[P24] resets every subscription at a reset marker, live and on replay', async () => {
    expectFaults({ faults: ['truncate_marker'] });
    const all = await subscribe('m-all');
    const pending = await subscribe('m-pending', { status: ['pending'] });
    const before = lastCursor(all, 'm-all');
    await h.db.sql`delete from orders`;
    await writer.marker('truncate');
    for (const [s, sub] of [
      [all, 'm-all'],
      [pending, 'm-pending'],
    ] as const) {
      expect(await s.next(is('reset', sub))).toMatchObject({ reason: 'truncate' });
      const snapshot = await s.next(is('snapshot', sub));
      expect(snapshot.rows).toEqual([]);
      await s.next(is('live', sub));
    }
    const after = await worker.insert('Frank');
    // A client coming back from before the marker cannot replay across it.
    const back = await subscribe('m-back', {}, before);
    const backView = await converged(back, 'm-back');
    expect(backView.resets).toEqual(['truncate']);
    expect(backView.rows.has(after.id)).toBe(true);
    await converged(all, 'm-all');
    await converged(pending, 'm-pending', { status: ['pending'] });
  });

  it('[P23] resets every subscription at a resnapshot marker, and the new snapshot shows deletes no change carried', async () => {
    expectFaults({ faults: ['resnapshot_marker'] });
    const kept = await worker.insert('Gina');
    const gone = await worker.insert('Gina');
    const s = await subscribe('rs-all');
    // Deleted behind the capture's back: only a new snapshot can tell the client.
    await h.db.sql`delete from orders where id = ${gone.id}`;
    await writer.marker('resnapshot');
    expect(await s.next(is('reset', 'rs-all'))).toMatchObject({ reason: 'resnapshot' });
    const view = await converged(s, 'rs-all');
    expect(view.resets).toEqual(['resnapshot']);
    expect([view.rows.has(kept.id), view.rows.has(gone.id)]).toEqual([true, false]);
  });

  it('judges an update without a before image by its row, and tells only subscribers that may hold it', async () => {
    const pending = await subscribe('b-pending', { status: ['pending'] });
    const paid = await subscribe('b-paid', { status: ['paid'] });
    const row = await worker.insert('Judy');
    await pending.next(is('change', 'b-pending'));
    const [record] = await h.db.sql<OrderRecord[]>`
      update orders set status = 'shipped' where id = ${row.id} returning *`;
    if (record === undefined) throw new Error('update returned nothing');
    await writer.change({
      op: 'update',
      row: toOrder(record),
      before: null,
      committedAt: Date.now(),
      lsn: 'no-before',
      kafka: { topic: 'fake', partition: 0, offset: 'no-before', timestamp: Date.now() },
    });
    expect(await pending.next(is('change', 'b-pending'))).toMatchObject({
      op: 'update',
      effect: 'remove',
      row: { id: row.id, version: 2 },
    });
    // The paid subscriber never held the order: the next frame it gets is the next change.
    const sentinel = await worker.insert('Judy', 'paid');
    expect((await paid.next(is('change', 'b-paid'))).row.id).toBe(sentinel.id);
    await converged(pending, 'b-pending', { status: ['pending'] });
    await converged(paid, 'b-paid', { status: ['paid'] });
  });

  it('[P21][P29] resets a client that comes back with its cursor after the namespace lost its data', async () => {
    expectFaults({ faults: ['lost_history'] });
    const s = await subscribe('away');
    const kept = await worker.insert('Gina');
    await s.next(is('change', 'away'));
    const cursor = lastCursor(s, 'away');
    s.close();

    await dropNamespace(h.redis, h.ns);
    await worker.update(kept.id, { status: 'paid' });
    await worker.insert('Gina');
    await worker.insert('Hank');

    const back = await subscribe('away', {}, cursor);
    // The first word about the old cursor is the reset, not a recovered replay.
    expect(back.frames.find((f) => 'sub' in f && f.sub === 'away')).toMatchObject({
      type: 'reset',
      reason: 'epoch_changed',
    });
    const view = await converged(back, 'away');
    expect(view.lives[0]).toEqual({ recovered: false });
    expect(parseCursor(cursor)).toMatchObject({ kind: 'cursor' });
    expect(parseCursor(cursor)).not.toMatchObject({ cursor: { epoch: await h.redis.get(h.keys.epoch) } });
  });

  it('[P21][P30][P37] resets connected clients when the namespace loses its data, and they end equal to the database', async () => {
    expectFaults({ faults: ['lost_history'] });
    const filters: [string, FilterInput][] = [
      ['d-all', {}],
      ['d-pending', { status: ['pending'] }],
      ['d-gina', { customer: 'Gina' }],
    ];
    const subs = await Promise.all(filters.map(([sub, filter]) => subscribe(sub, filter)));
    const epoch = await h.redis.get(h.keys.epoch);

    await dropNamespace(h.redis, h.ns);
    const rows = await worker.rows();
    const [first, second] = [...rows.keys()];
    if (first === undefined || second === undefined) throw new Error('too few rows');
    await worker.update(first, { status: 'cancelled' });
    await worker.insert('Gina');
    await worker.remove(second);
    await worker.insert('Ivan', 'paid');

    for (const [i, [sub, filter]] of filters.entries()) {
      const s = subs[i];
      if (s === undefined) throw new Error('missing socket');
      const view = await converged(s, sub, filter);
      expect(view.resets).toContain('epoch_changed');
    }
    expect(await h.redis.get(h.keys.epoch)).not.toBe(epoch);
  });
});
