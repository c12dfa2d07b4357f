import { type ChangeFrame, parseCursor } from '@orders/contract';
import type { StreamChange } from '@orders/contract/redis';
import type { Order } from '@orders/drizzle';
import { compareStreamIds } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/node-server.ts';
import type { RedisClient } from '../src/stream/redis-client.ts';
import { untilDispatched } from './support/dispatched.ts';
import { type ContractWriter, createContractWriter } from './support/fake-worker.ts';
import { is, openRaw, type RawSocket } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { lockOrders } from './support/table-lock.ts';
import { until } from './support/wait.ts';

/** Live events a loading subscription may hold here: far fewer than the test writes meanwhile. */
const BUFFERED = 8;
const CUSTOMER = 'Overflow';

/** Versions of the orders the test changes; they exist only in the streams, never in PostgreSQL. */
const versions = new Map<number, number>();

function nextChange(id: number): StreamChange {
  const version = (versions.get(id) ?? 0) + 1;
  versions.set(id, version);
  const now = Date.now();
  const at = new Date(now).toISOString();
  const row: Order = {
    id,
    customerName: CUSTOMER,
    productName: 'buffered',
    status: 'pending',
    version,
    createdAt: at,
    updatedAt: at,
  };
  const before = version === 1 ? null : { ...row, version: version - 1 };
  return {
    op: version === 1 ? 'insert' : 'update',
    row,
    before,
    committedAt: now,
    lsn: String(now),
    kafka: { topic: 'test', partition: 0, offset: String(now), timestamp: now },
  };
}

/** Stream id of a cursor; the test knows the format, clients do not need to. */
const idOf = (cursor: string): string => {
  const parsed = parseCursor(cursor);
  if (parsed.kind !== 'cursor') throw new Error(`not a plain cursor: ${cursor}`);
  return parsed.cursor.id;
};

/** What the test does while a short replay page (one a subscription may go live after) is held. */
type PageHook = () => Promise<void>;

/**
 * The test's Redis client as the gateway sees it, except that a history page read with a
 * count (a replay page, not a head read) may be held after Redis answered it: the test writes
 * changes in that window, which the page cannot contain and the gateway receives live. Redis
 * still answers every command; only the moment the gateway sees a reply is chosen.
 */
function withPageHook(
  redis: RedisClient,
  historyKey: string,
  replayPage: number,
  hook: () => PageHook | undefined,
): RedisClient {
  return new Proxy(redis, {
    get(target, prop) {
      // History pages go by digest (EVALSHA), or by body once Redis has lost its script cache.
      if (prop === 'eval' || prop === 'evalSha') {
        const run = target[prop].bind(target);
        return async (script: string, options: { keys?: string[]; arguments?: string[] }) => {
          const reply = await run(script, options);
          const count = Number(options.arguments?.[1] ?? 0);
          const entries = Array.isArray(reply) ? reply[2] : undefined;
          if (
            options.keys?.[0] === historyKey &&
            count === replayPage &&
            Array.isArray(entries) &&
            entries.length < replayPage
          )
            await hook()?.();
          return reply;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('live-buffer overflow while a subscription loads', () => {
  const REPLAY_PAGE = 8;
  let h: GatewayHarness;
  let gw: RunningGateway;
  let writer: ContractWriter;
  const sockets: RawSocket[] = [];
  /** Every change written, with its stream id, in stream order. */
  const written: { id: string; change: StreamChange }[] = [];
  /** What happens while each of the next short replay pages is held, in order. */
  const pageHooks: PageHook[] = [];

  beforeAll(async () => {
    h = await createHarness();
    const redis = withPageHook(h.redis, h.keys.history, REPLAY_PAGE, () => pageHooks.shift());
    gw = await h.start('overflow-a', {
      redis,
      tuning: { maxBufferedEvents: BUFFERED, replayPage: REPLAY_PAGE },
    });
    writer = createContractWriter(h.redis, h.keys);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await h?.close();
  });

  /** Runs one writer at a time: the steady writes pause while a held page's writes run. */
  let turn: Promise<unknown> = Promise.resolve();
  const exclusively = <T>(run: () => Promise<T>): Promise<T> => {
    const next = turn.then(run);
    turn = next.catch(() => {});
    return next;
  };

  let nextOrder = 0;
  const write = async (): Promise<string> => {
    const change = nextChange(700_000 + (nextOrder++ % 7));
    const id = await writer.change(change);
    written.push({ id, change });
    return id;
  };
  /** Writes `n` changes and waits until the gateway has handed every one of them to its subscriptions. */
  const writeAndDispatch = async (n: number): Promise<void> => {
    let last = '';
    for (let i = 0; i < n; i++) last = await write();
    await untilDispatched(h.redis, h.keys.gatewayStream(gw.gatewayId), last);
  };

  it('[P81] replays history instead, goes live under steady writes, and sends each change once, in order', async () => {
    const s = await openRaw(gw.url);
    sockets.push(s);
    await s.next(is('welcome'));

    // An exclusive lock holds the snapshot query, and with it the subscription, in loading.
    const lock = await lockOrders(h.db.sql);
    try {
      s.send({ type: 'subscribe', sub: 'ov', filter: { customer: CUSTOMER } });
      await until(
        () => [...gw.hub.connections].some((c) => c.subs.get('ov')?.state.kind === 'loading'),
        'the subscription to start loading',
      );
      // Many times the buffer, all handed to the loading subscription: its buffer overflows.
      await writeAndDispatch(BUFFERED * 8);
      expect(s.frames.some((f) => f.type === 'snapshot' || f.type === 'change')).toBe(false);
      // Each short replay page is held after Redis answered it, while changes the page cannot
      // hold are written and handed to the subscription: first a few while the overflow of the
      // snapshot is not yet caught up, then more than the buffer holds (a second overflow),
      // then a few the buffer keeps and the switch to live must deliver.
      pageHooks.push(
        () => exclusively(() => writeAndDispatch(2)),
        () => exclusively(() => writeAndDispatch(BUFFERED * 3)),
        () => exclusively(() => writeAndDispatch(2)),
      );
    } finally {
      await lock.release();
    }
    // Writes go on while the subscription replays, and keep going until it is live: one at a
    // time, each handed to the subscription before the next, paced by the gateway, not a clock.
    let writing = true;
    const steady = (async () => {
      while (writing) await exclusively(() => writeAndDispatch(1));
    })();
    try {
      await s.next(is('live', 'ov'), 60_000);
    } finally {
      writing = false;
      await steady;
    }
    // A barrier written after everything else: once it arrives, nothing written before can still come.
    const barrier = await write();
    await until(
      () => s.frames.some((f) => f.type === 'change' && f.sub === 'ov' && idOf(f.cursor) === barrier),
      'the barrier change',
    );

    const snapshot = s.frames.find((f) => f.type === 'snapshot' && f.sub === 'ov');
    if (snapshot === undefined || snapshot.type !== 'snapshot') throw new Error('no snapshot');
    expect(snapshot.rows).toEqual([]);
    const after = idOf(snapshot.cursor);
    const expected = written
      .filter((w) => compareStreamIds(w.id, after) > 0)
      .map((w) => `${w.id} ${w.change.row.id} v${w.change.row.version}`);
    const got = s.frames
      .filter((f): f is ChangeFrame => f.type === 'change' && f.sub === 'ov')
      .map((f) => `${idOf(f.cursor)} ${f.row.id} v${f.row.version}`);
    // Every change after the snapshot's cursor, once, in stream order: none lost, none twice.
    expect(got).toEqual(expected);
    // Every held page was met: the subscription went live only after all three windows.
    expect(pageHooks).toHaveLength(0);
  });
});
