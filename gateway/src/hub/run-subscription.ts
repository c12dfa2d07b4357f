import { type ResetReason, UNBOUNDED_FENCE } from '@orders/contract';
import { isMarker, parseStreamEntry } from '@orders/contract/redis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import { EncodedFrame } from '../protocol/encoded-frame.ts';
import type { SharedSnapshotPages } from '../snapshot/shared-pages.ts';
import type { SnapshotScheduler } from '../snapshot/snapshot-scheduler.ts';
import type { HistoryReader } from '../stream/history.ts';
import { ChangeFanout } from './change-fanout.ts';
import type { KnownVersions } from './known-versions.ts';
import { MarkerEvent } from './marker-event.ts';
import type { Subscription } from './subscription.ts';
import { SubscriptionRefused } from './subscription-refused.ts';

export interface LoadDeps {
  history: HistoryReader;
  /** Snapshot pages, one read shared by the subscribers that come for the same page together. */
  pages: SharedSnapshotPages;
  /** Shares snapshot queries fairly between sockets; one per gateway. */
  scheduler: SnapshotScheduler;
  metrics: Metrics;
  logger: Logger;
  /** Rows per snapshot frame. */
  snapshotChunk: number;
  /** Entries per history read during replay. */
  replayPage: number;
}

/** Where a load starts: from a snapshot, from the subscription's position, or with a reset. */
export interface LoadStart {
  snapshot: boolean;
  reset?: ResetReason;
}

type ReplayOutcome = 'done' | 'closed' | ResetReason;

/**
 * Changes committed this long before a snapshot started are taken as reflected in it, even
 * for rows it does not hold; see {@link KnownVersions.snapshotStarted}.
 */
const SNAPSHOT_CLOCK_MARGIN_MS = 1000;

/**
 * Brings a subscription from nothing (or its position) to live: snapshot when needed,
 * replay of history after the position, then the buffered live events. Whatever cannot be
 * completed from history (expired, other epoch, a reset marker) ends in `reset` and a new
 * snapshot: a client gets every change or an explicit reset.
 */
export async function runSubscription(sub: Subscription, start: LoadStart, deps: LoadDeps): Promise<void> {
  let needSnapshot = start.snapshot;
  let reset = start.reset ?? sub.takeReset();
  for (;;) {
    if (sub.state.kind === 'closed') return;
    if (reset !== undefined) {
      deps.logger.info(
        { sub: sub.id, conn: sub.conn.id, reason: reset, cursor: sub.cursor },
        'subscription reset',
      );
      sub.conn.send({ type: 'reset', sub: sub.id, reason: reset });
      sub.known.clear();
      sub.held.clear();
      sub.startOver();
      needSnapshot = true;
      reset = undefined;
    }
    // Snapshot and replay both count as one of the socket's loads: a socket resuming many
    // subscriptions from old cursors waits its turn as one subscribing many times does.
    const slot = await deps.scheduler.load(sub.conn, sub.signal);
    if (slot === undefined) return;
    let outcome: ReplayOutcome;
    try {
      const held: HeldFrame = {};
      outcome = await load(sub, needSnapshot, deps, held);
      if (outcome === 'done') {
        // The snapshot's last frame and `live` (with what arrived meanwhile) leave in one write.
        let live = false;
        sub.conn.corked(() => {
          sendHeld(sub, held);
          live = sub.goLive(!needSnapshot);
        });
        if (live) return;
      } else if (outcome !== 'closed') sendHeld(sub, held);
    } finally {
      slot.release();
    }
    if (outcome === 'closed') return;
    reset = outcome === 'done' ? sub.takeReset() : outcome;
  }
}

/** One load in the socket's slot: the snapshot when asked for, then the replay after the position. */
async function load(
  sub: Subscription,
  snapshot: boolean,
  deps: LoadDeps,
  held: HeldFrame,
): Promise<ReplayOutcome> {
  if (snapshot && !(await readSnapshot(sub, deps, sub.signal, held))) return 'closed';
  // After its own snapshot a subscription replays what arrived while the snapshot was read,
  // however much that is (a bound there could reset it into the same snapshot forever); from
  // a position it was given, a snapshot is the cheaper answer past `replayMaxEntries`.
  const budget = snapshot ? Number.POSITIVE_INFINITY : deps.scheduler.replayMaxEntries;
  const started = performance.now();
  const outcome = await replay(sub, deps, { left: budget }, held);
  deps.metrics.replayDuration.observe((performance.now() - started) / 1000);
  return outcome;
}

/**
 * A snapshot's last frame, kept back until the replay after it delivers something or the
 * subscription goes live, so that for most subscriptions it leaves in the same socket write as
 * `live`. Whatever is sent next on the subscription's behalf sends it first.
 */
interface HeldFrame {
  frame?: EncodedFrame;
}

function sendHeld(sub: Subscription, held: HeldFrame): void {
  if (held.frame === undefined) return;
  sub.conn.send(held.frame);
  held.frame = undefined;
}

async function readSnapshot(
  sub: Subscription,
  deps: LoadDeps,
  signal: AbortSignal,
  held: HeldFrame,
): Promise<boolean> {
  const started = performance.now();
  // Taken before the head and so before every page: what committed earlier is in the snapshot.
  sub.known.snapshotStarted(Date.now(), SNAPSHOT_CLOCK_MARGIN_MS);
  // The head is read first: every change up to it is already in PostgreSQL, so the
  // snapshot reflects it, and everything after it is replayed.
  // With shard groups, every group's head, all before the first page.
  sub.setPositions(await deps.history.heads());
  // A page shared with other subscribers must have been read after these heads, and each
  // page after the one before it.
  let after = deps.pages.mark();
  // Until every page is read nothing bounds what the snapshot shows: its frames' cursor
  // fences every change (a client resuming from it gets `reset` unless nothing happened since).
  sub.fenceAt(UNBOUNDED_FENCE, true);
  const { cursor } = sub;
  const subJson = JSON.stringify(sub.id);
  const cursorJson = JSON.stringify(cursor);
  let afterId = 0;
  for (;;) {
    // A page is read only once the client has taken the previous ones: a slow reader makes
    // its snapshot slower instead of tripping the hard limit, and holds no query slot meanwhile.
    if (!(await sub.conn.outbox.writable(signal))) return false;
    const limit = deps.snapshotChunk + 1;
    const page = await deps.pages.read(sub.conn, { filter: sub.filter, afterId, limit, after }, signal);
    if (page === undefined || sub.state.kind === 'closed') return false;
    after = page.sent;
    const { visibility } = page;
    if (visibility !== undefined) sub.known.pageRead(afterId, visibility);
    const more = page.rows.length > deps.snapshotChunk;
    // Shared with other subscribers: read, never changed.
    const rows = more ? page.rows.slice(0, deps.snapshotChunk) : page.rows;
    // The page's ids and versions, packed once and shared with every subscriber it serves.
    const versions = page.versions(rows.length);
    // Past the cap nothing could tell these rows' replayed changes from new ones, and a
    // new snapshot of the same filter would not fit either: the subscription is refused.
    if (!sub.known.rememberPage(versions)) {
      const { cap } = sub.known;
      sub.known.clear();
      sub.held.clear();
      throw new SubscriptionRefused(
        'too_large',
        `the snapshot holds more than ${cap} orders; narrow the filter`,
      );
    }
    sub.held.addPage(versions);
    // The rows' JSON is encoded once per page for every subscriber it serves.
    const frame = EncodedFrame.spliced(
      `{"type":"snapshot","sub":${subJson},"rows":`,
      page.rowsJson(rows.length),
      `,"cursor":${cursorJson},"done":${!more}}`,
    );
    const last = rows.at(-1);
    if (!more || last === undefined) {
      held.frame = frame;
      break;
    }
    sub.conn.send(frame);
    afterId = last.id;
  }
  sub.known.sealed(Date.now());
  sub.fenceAt(sub.known.fence, true);
  deps.metrics.snapshotDuration.observe((performance.now() - started) / 1000);
  return true;
}

/** History entries a replay may still read; shared by every group and every round. */
interface ReplayBudget {
  left: number;
}

/**
 * Replays every shard group's history after the subscription's position in it, group after
 * group (one order's changes all live in one group, so their order is kept). Dropped live
 * events (overflow) make it go round all groups again.
 */
async function replay(
  sub: Subscription,
  deps: LoadDeps,
  budget: ReplayBudget,
  held: HeldFrame,
): Promise<ReplayOutcome> {
  for (;;) {
    for (let group = 0; group < sub.groups; group++) {
      const outcome = await replayGroup(sub, deps, group, budget, held);
      if (outcome !== 'done') return outcome;
    }
    if (!sub.takeOverflow()) return 'done';
  }
}

async function replayGroup(
  sub: Subscription,
  deps: LoadDeps,
  group: number,
  budget: ReplayBudget,
  held: HeldFrame,
): Promise<ReplayOutcome> {
  const { signal } = sub;
  for (;;) {
    if (!(await sub.conn.outbox.writable(signal))) return 'closed';
    // One past the budget tells a position exactly at the bound from one beyond it.
    const count = Math.min(deps.replayPage, budget.left + 1);
    const page = await deps.scheduler.query(sub.conn, signal, () =>
      deps.history.page(sub.positionOf(group), count, group),
    );
    if (page === undefined || sub.state.kind === 'closed') return 'closed';
    if (page.epoch !== sub.epochs[group]) return 'epoch_changed';
    // Past the bound is treated as trimmed: what the replay would not read is as good as gone.
    const trimmed = page.status === 'expired' || page.entries.length > budget.left;
    if (trimmed) return sub.gap ? 'stream_gap' : 'cursor_expired';
    if (page.status === 'unknown') return 'cursor_unknown';
    budget.left -= page.entries.length;
    if (page.entries.length > 0) sendHeld(sub, held);
    // A page's changes leave as one `changes` frame on a socket that asked for batches.
    let reset: ResetReason | undefined;
    sub.conn.batch(() => {
      for (const raw of page.entries) {
        const parsed = parseStreamEntry(raw.id, raw.fields);
        if (parsed.ok) {
          const { entry } = parsed;
          sub.deliver(
            isMarker(entry)
              ? new MarkerEvent(entry.id, entry.reset, page.epoch, group)
              : new ChangeFanout(entry, page.epoch, group),
          );
          reset = sub.takeReset();
          if (reset !== undefined) return;
        } else {
          // Skipping keeps the subscriber moving; the worker validated the entry, so this is a bug to see in logs.
          deps.logger.error({ id: parsed.id, reason: parsed.reason }, 'invalid history entry skipped');
          sub.setPosition(group, parsed.id);
        }
      }
    });
    if (reset !== undefined) return reset;
    if (page.entries.length < count) return 'done';
  }
}
