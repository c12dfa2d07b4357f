import { describe, expect, it } from 'vitest';
import { SnapshotScheduler } from './snapshot-scheduler.ts';

/** A query that finishes when the test says so, recording the order queries started in. */
function gate(started: string[]) {
  const finishers = new Map<string, () => void>();
  const run = (name: string) => (signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      started.push(name);
      finishers.set(name, () => resolve(name));
      signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
    });
  const settle = () => new Promise((r) => setImmediate(r));
  const finish = async (name: string) => {
    await settle();
    const done = finishers.get(name);
    if (done === undefined) throw new Error(`${name} has not started`);
    done();
    await settle();
  };
  return { run, finish };
}

describe('SnapshotScheduler', () => {
  it('[P79] grants query slots round-robin across sockets, FIFO within one', async () => {
    const scheduler = new SnapshotScheduler({ concurrency: 1 });
    const started: string[] = [];
    const { run, finish } = gate(started);
    const a = {};
    const b = {};
    const never = new AbortController().signal;
    const results = [
      scheduler.query(a, never, run('a1')),
      scheduler.query(a, never, run('a2')),
      scheduler.query(a, never, run('a3')),
      scheduler.query(b, never, run('b1')),
      scheduler.query(b, never, run('b2')),
    ];
    // a1 ran before b queued anything, so a is ahead in the round; after that they alternate.
    for (const name of ['a1', 'a2', 'b1', 'a3', 'b2']) await finish(name);
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    expect(started).toEqual(['a1', 'a2', 'b1', 'a3', 'b2']);
    expect(scheduler.running).toBe(0);
  });

  it('an abort drops a queued query and cancels a running one, freeing its slot', async () => {
    const scheduler = new SnapshotScheduler({ concurrency: 1 });
    const started: string[] = [];
    const { run, finish } = gate(started);
    const first = new AbortController();
    const second = new AbortController();
    const running = scheduler.query({}, first.signal, run('first'));
    const queued = scheduler.query({}, second.signal, run('second'));
    const third = scheduler.query({}, new AbortController().signal, run('third'));
    second.abort();
    expect(await queued).toBeUndefined();
    first.abort();
    expect(await running).toBeUndefined();
    await finish('third');
    expect(await third).toBe('third');
    expect(started).toEqual(['first', 'third']);
    expect(scheduler.queued).toBe(0);
  });

  it('[P80] lets a socket load at most perSocket snapshots, the rest in order, aborted ones skipped', async () => {
    const scheduler = new SnapshotScheduler({ perSocket: 2 });
    const socket = {};
    const never = new AbortController().signal;
    const one = await scheduler.load(socket, never);
    const two = await scheduler.load(socket, never);
    const cancelled = new AbortController();
    let granted = '';
    const three = scheduler.load(socket, cancelled.signal).then((s) => {
      granted += s === undefined ? 'x' : '3';
      return s;
    });
    const four = scheduler.load(socket, never).then((s) => {
      granted += '4';
      return s;
    });
    // Another socket is not held up by this one.
    expect(await scheduler.load({}, never)).toBeDefined();
    cancelled.abort();
    await three;
    expect(granted).toBe('x');
    one?.release();
    one?.release();
    await four;
    expect(granted).toBe('x4');
    two?.release();
  });
});
