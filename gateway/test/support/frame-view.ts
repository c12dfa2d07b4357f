import type { ServerFrame } from '@orders/contract';
import type { Order } from '@orders/drizzle';

/** What one subscription's frames add up to, and every way they broke the guarantees. */
export interface FrameView {
  rows: Map<number, Order>;
  /** Change frames whose (op, order id, version) had already been delivered. */
  duplicates: string[];
  /** Changes whose version did not rise above what the subscriber held from this snapshot on. */
  regressions: string[];
  resets: string[];
  snapshots: number;
  lives: { recovered: boolean }[];
}

/**
 * Replays the frames a raw socket received for `sub` the way a client must apply them
 * (snapshot replaces, reset clears, changes merge by version), checking the frames
 * themselves: a duplicate the merge would hide still counts.
 */
export function viewOf(frames: readonly ServerFrame[], sub: string): FrameView {
  const view: FrameView = {
    rows: new Map(),
    duplicates: [],
    regressions: [],
    resets: [],
    snapshots: 0,
    lives: [],
  };
  const delivered = new Set<string>();
  let staging: Map<number, Order> | undefined;
  // Versions seen since the last snapshot: the frames, not the merged rows, must rise.
  const seen = new Map<number, number>();
  for (const frame of frames) {
    if (!('sub' in frame) || frame.sub !== sub) continue;
    switch (frame.type) {
      case 'snapshot': {
        staging ??= new Map();
        for (const row of frame.rows) staging.set(row.id, row);
        if (!frame.done) break;
        view.rows = staging;
        staging = undefined;
        view.snapshots++;
        seen.clear();
        for (const row of view.rows.values()) seen.set(row.id, row.version);
        break;
      }
      case 'reset':
        view.rows = new Map();
        staging = undefined;
        seen.clear();
        view.resets.push(frame.reason);
        break;
      case 'live':
        view.lives.push({ recovered: frame.recovered });
        break;
      case 'change': {
        const { op, row, effect } = frame;
        const key = `${op} ${row.id} v${row.version}`;
        if (delivered.has(key)) view.duplicates.push(key);
        delivered.add(key);
        const previous = seen.get(row.id);
        if (previous !== undefined && (op === 'delete' ? row.version < previous : row.version <= previous))
          view.regressions.push(`${key} after v${previous}`);
        seen.set(row.id, row.version);
        const held = view.rows.get(row.id);
        if (effect === 'upsert') {
          if (held === undefined || row.version > held.version) view.rows.set(row.id, row);
        } else if (held !== undefined && row.version >= held.version) {
          view.rows.delete(row.id);
        }
        break;
      }
      default:
        break;
    }
  }
  return view;
}
