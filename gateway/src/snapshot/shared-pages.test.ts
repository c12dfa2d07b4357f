import { type Filter, toFilter } from '@orders/contract';
import { orderAt } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { type PageRequest, SharedSnapshotPages } from './shared-pages.ts';
import { SnapshotScheduler } from './snapshot-scheduler.ts';
import type { SnapshotPage, SnapshotSource } from './snapshot-source.ts';

/**
 * A table whose page reads take the rows present when the read is sent (as a statement's
 * snapshot does) and answer when the test lets them.
 */
function table(initial: number[]) {
  const rows = new Map(initial.map((id) => [id, orderAt(id, 1)]));
  const pending: { resolve: () => void; signal: AbortSignal | undefined }[] = [];
  const source: SnapshotSource = {
    page(filter: Filter, afterId: number, limit: number, signal?: AbortSignal): Promise<SnapshotPage> {
      const seen = [...rows.values()]
        .filter(
          (r) => r.id > afterId && (filter.customer === undefined || r.customerName === filter.customer),
        )
        .sort((a, b) => a.id - b.id)
        .slice(0, limit);
      return new Promise((resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
        pending.push({ resolve: () => resolve({ rows: seen }), signal });
      });
    },
  };
  return {
    source,
    insert: (id: number) => rows.set(id, orderAt(id, 1)),
    /** Page reads sent and not yet answered. */
    get sent() {
      return pending.length;
    },
    signalOf: (i: number) => pending[i]?.signal,
    /** Answers every read sent so far. */
    answer() {
      for (const p of pending.splice(0)) p.resolve();
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));
const first = (after: number, afterId = 0): PageRequest => ({
  filter: toFilter({}),
  afterId,
  limit: 3,
  after,
});
const ids = (page: SnapshotPage | undefined) => page?.rows.map((r) => r.id);

describe('shared snapshot pages', () => {
  it('serves subscribers that come for the same page together with one read', async () => {
    const db = table([1, 2, 3, 4]);
    // One slot, taken: the reads queue, as under a crowd of subscribers.
    const scheduler = new SnapshotScheduler({ concurrency: 1 });
    const pages = new SharedSnapshotPages(db.source, scheduler);
    const blocker = pages.read(
      {},
      { ...first(pages.mark()), filter: toFilter({ customer: 'Bob' }) },
      new AbortController().signal,
    );
    await settle();
    const owners = [{}, {}, {}];
    const reads = owners.map((owner) => pages.read(owner, first(pages.mark()), new AbortController().signal));
    await settle();
    db.answer();
    await blocker;
    await settle();
    db.answer();
    const served = await Promise.all(reads);
    expect(served.map(ids)).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    // The blocker's read and one read for the three.
    expect([pages.reads, pages.shared]).toEqual([2, 2]);
    expect(served[0]?.rowsJson(2).text).toBe(JSON.stringify([orderAt(1, 1), orderAt(2, 1)]));
  });

  it('with sharing off, reads every page for every request', async () => {
    const db = table([1]);
    const pages = new SharedSnapshotPages(db.source, new SnapshotScheduler({ concurrency: 1 }), {
      share: false,
    });
    const signal = new AbortController().signal;
    const both = [pages.read({}, first(0), signal), pages.read({}, first(0), signal)];
    await settle();
    db.answer();
    await settle();
    db.answer();
    expect((await Promise.all(both)).map(ids)).toEqual([[1], [1]]);
    expect([pages.reads, pages.shared]).toEqual([2, 0]);
  });

  it('never serves a subscriber a read sent before it read its heads: a row committed in between is in its page', async () => {
    const db = table([1]);
    const pages = new SharedSnapshotPages(db.source, new SnapshotScheduler());
    const early = pages.read({}, first(pages.mark()), new AbortController().signal);
    await settle();
    expect(db.sent).toBe(1);
    // Committed, and in history, after the early read was sent; the late subscriber's heads hold it.
    db.insert(2);
    const mark = pages.mark();
    const late = pages.read({}, first(mark), new AbortController().signal);
    await settle();
    // Heads read before the second read was sent: that read may serve it, the first may not.
    const third = pages.read({}, first(mark), new AbortController().signal);
    db.answer();
    expect([ids(await early), ids(await late), ids(await third)]).toEqual([[1], [1, 2], [1, 2]]);
    expect([pages.reads, pages.shared]).toEqual([2, 1]);
  });

  it('takes each next page only from a read sent after the previous page was', async () => {
    const db = table([1, 2, 3, 4, 5, 6, 7]);
    const pages = new SharedSnapshotPages(db.source, new SnapshotScheduler());
    const signal = new AbortController().signal;
    // A subscriber far ahead read page two early.
    const ahead = pages.read({}, first(pages.mark()), signal);
    await settle();
    db.answer();
    const aheadFirst = await ahead;
    const aheadSecond = pages.read({}, first(aheadFirst?.sent ?? 0, 3), signal);
    await settle();
    db.answer();
    const second = await aheadSecond;
    // Another whose first page was read after that: the retained second page is older than it.
    const mark = pages.mark();
    const behind = pages.read({}, first(mark), signal);
    await settle();
    db.answer();
    const behindFirst = await behind;
    expect(behindFirst?.sent).toBeGreaterThan(second?.sent ?? Number.POSITIVE_INFINITY);
    const behindSecond = pages.read({}, first(behindFirst?.sent ?? 0, 3), signal);
    await settle();
    expect(db.sent).toBe(1);
    db.answer();
    expect((await behindSecond)?.sent).toBeGreaterThan(behindFirst?.sent ?? 0);
    expect([pages.reads, pages.shared]).toEqual([4, 0]);
  });

  it('keeps a read going while anyone waits on it, and cancels it when the last one leaves', async () => {
    const db = table([1, 2]);
    const pages = new SharedSnapshotPages(db.source, new SnapshotScheduler());
    const a = new AbortController();
    const b = new AbortController();
    const readA = pages.read({}, first(pages.mark()), a.signal);
    const readB = pages.read({}, first(0), b.signal);
    await settle();
    a.abort();
    expect(await readA).toBeUndefined();
    expect(db.signalOf(0)?.aborted).toBe(false);
    db.answer();
    expect(ids(await readB)).toEqual([1, 2]);

    const c = new AbortController();
    const d = new AbortController();
    const mark = pages.mark();
    const readC = pages.read({}, first(mark, 2), c.signal);
    const readD = pages.read({}, first(mark, 2), d.signal);
    await settle();
    c.abort();
    d.abort();
    expect([await readC, await readD]).toEqual([undefined, undefined]);
    expect(db.signalOf(0)?.aborted).toBe(true);
    // Nobody inherits the cancelled read.
    const again = pages.read({}, first(mark, 2), new AbortController().signal);
    await settle();
    db.answer();
    expect(ids(await again)).toEqual([]);
    expect(pages.reads).toBe(3);
  });

  it('fails every subscriber waiting on a read that fails, and the next one reads again', async () => {
    let fail = true;
    const source: SnapshotSource = {
      page: async () => {
        if (fail) throw new Error('connection lost');
        return { rows: [orderAt(1, 1)] };
      },
    };
    const pages = new SharedSnapshotPages(source, new SnapshotScheduler({ concurrency: 1 }));
    const signal = new AbortController().signal;
    const both = [pages.read({}, first(0), signal), pages.read({}, first(0), signal)];
    expect(await Promise.allSettled(both)).toMatchObject([
      { status: 'rejected', reason: { message: 'connection lost' } },
      { status: 'rejected', reason: { message: 'connection lost' } },
    ]);
    fail = false;
    expect(ids(await pages.read({}, first(0), signal))).toEqual([1]);
    expect(pages.reads).toBe(2);
  });

  it('shares a page read already only for `retainMs`, and pages of other filters never', async () => {
    const db = table([1]);
    let clock = 0;
    // Retention is judged by the given clock; the real timer that lets pages go is far off.
    const pages = new SharedSnapshotPages(db.source, new SnapshotScheduler(), {
      retainMs: 60_000,
      now: () => clock,
    });
    const signal = new AbortController().signal;
    const read = pages.read({}, first(0), signal);
    await settle();
    db.answer();
    await read;
    clock = 60_000;
    expect(ids(await pages.read({}, first(0), signal))).toEqual([1]);
    clock = 60_001;
    const expired = pages.read({}, first(0), signal);
    const other = pages.read({}, { ...first(0), filter: toFilter({ status: ['paid'] }) }, signal);
    await settle();
    db.answer();
    await Promise.all([expired, other]);
    expect([pages.reads, pages.shared]).toEqual([3, 1]);
  });
});
