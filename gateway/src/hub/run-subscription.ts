import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { SnapshotScheduler } from '../snapshot/snapshot-scheduler.ts';
import type { SnapshotSource } from '../snapshot/snapshot-source.ts';
import { parseChangeEntry } from '../stream/change-entry.ts';
import type { HistoryReader } from '../stream/history.ts';
import { ChangeFanout } from './change-fanout.ts';
import type { Subscription } from './subscription.ts';

export interface LoadDeps {
  history: HistoryReader;
  snapshots: SnapshotSource;
  /** Shares snapshot queries fairly between sockets; one per gateway. */
  scheduler: SnapshotScheduler;
  metrics: Metrics;
  logger: Logger;
  /** Rows per snapshot frame. */
  snapshotChunk: number;
  /** Entries per history read during replay. */
  replayPage: number;
}

type ReplayOutcome = 'done' | 'closed' | 'cursor_expired' | 'cursor_unknown';

/**
 * Brings a new subscription from nothing (or its cursor) to live: snapshot when needed,
 * replay of history after the position, then the buffered live events.
 */
export async function runSubscription(
  sub: Subscription,
  cursor: string | undefined,
  deps: LoadDeps,
): Promise<void> {
  let needSnapshot = cursor === undefined;
  if (cursor !== undefined) sub.position = cursor;
  for (;;) {
    if (needSnapshot) {
      const ok = await sendSnapshot(sub, deps);
      if (!ok) return;
    }
    const started = performance.now();
    const outcome = await replay(sub, deps);
    deps.metrics.replayDuration.observe((performance.now() - started) / 1000);
    if (outcome === 'closed') return;
    if (outcome === 'done') {
      sub.goLive(!needSnapshot);
      return;
    }
    // The client's rows cannot be completed from history: tell it, then start over.
    deps.logger.info(
      { sub: sub.id, conn: sub.conn.id, reason: outcome, cursor: sub.position },
      'subscription reset',
    );
    sub.conn.sendFrame({ type: 'reset', sub: sub.id, reason: outcome });
    sub.known.clear();
    needSnapshot = true;
  }
}

async function sendSnapshot(sub: Subscription, deps: LoadDeps): Promise<boolean> {
  const { signal } = sub;
  const slot = await deps.scheduler.load(sub.conn, signal);
  if (slot === undefined) return false;
  try {
    return await readSnapshot(sub, deps, signal);
  } finally {
    slot.release();
  }
}

async function readSnapshot(sub: Subscription, deps: LoadDeps, signal: AbortSignal): Promise<boolean> {
  const started = performance.now();
  // The head is read first: every change up to it is already in PostgreSQL, so the
  // snapshot reflects it, and everything after it is replayed.
  const head = await deps.history.head();
  sub.position = head;
  let afterId = 0;
  for (;;) {
    // A page is read only once the client has taken the previous ones: a slow reader makes
    // its snapshot slower instead of tripping the hard limit, and holds no query slot meanwhile.
    if (!(await sub.conn.outbox.writable(signal))) return false;
    const rows = await deps.scheduler.query(sub.conn, signal, (s) =>
      deps.snapshots.page(sub.filter, afterId, deps.snapshotChunk + 1, s),
    );
    if (rows === undefined || sub.state === 'closed') return false;
    const more = rows.length > deps.snapshotChunk;
    if (more) rows.length = deps.snapshotChunk;
    for (const row of rows) sub.known.remember(row.id, row.version);
    sub.conn.sendFrame({ type: 'snapshot', sub: sub.id, rows, cursor: head, done: !more });
    const last = rows.at(-1);
    if (!more || last === undefined) break;
    afterId = last.id;
  }
  sub.known.sealed(Date.now());
  deps.metrics.snapshotDuration.observe((performance.now() - started) / 1000);
  return true;
}

async function replay(sub: Subscription, deps: LoadDeps): Promise<ReplayOutcome> {
  for (;;) {
    if (!(await sub.conn.outbox.writable(sub.signal))) return 'closed';
    const page = await deps.history.page(sub.position, deps.replayPage);
    if (sub.state === 'closed') return 'closed';
    if (page.status === 'expired') return 'cursor_expired';
    if (page.status === 'unknown') return 'cursor_unknown';
    for (const raw of page.entries) {
      const parsed = parseChangeEntry(raw.id, raw.fields);
      if (parsed.ok) {
        sub.deliver(new ChangeFanout(parsed.entry));
      } else {
        // Skipping keeps the subscriber moving; the worker validated the entry, so this is a bug to see in logs.
        deps.logger.error({ id: parsed.id, reason: parsed.reason }, 'invalid history entry skipped');
        sub.position = parsed.id;
      }
    }
    if (page.entries.length < deps.replayPage && !sub.takeOverflow()) return 'done';
  }
}
