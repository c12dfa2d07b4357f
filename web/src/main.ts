import './styles.css';
import { loadConfig } from './config.ts';
import { ConnectionIndicator } from './connection-indicator.ts';
import type { ConnectionView } from './connection-view.ts';
import { byId, setText } from './dom.ts';
import { EventFeed, type FeedItem } from './event-feed.ts';
import { FilterBar } from './filter-bar.ts';
import { formatCount, formatLatency } from './format.ts';
import { FrameBatch } from './frame-batch.ts';
import { inOwnFrame } from './frame-slots.ts';
import { type RowChange, startLiveOrders } from './live-orders.ts';
import { LiveStats } from './live-stats.ts';
import type { Order } from './order.ts';
import { OrdersTable } from './orders-table.ts';
import { exposeHook } from './page-hook.ts';

/** Slowest render cadence under sustained traffic; see FrameBatch. */
const RENDER_INTERVAL_MS = 50;

type Update =
  | { kind: 'snapshot'; rows: Order[] }
  | { kind: 'change'; change: RowChange }
  | { kind: 'note'; text: string; tone: 'info' | 'warn'; at: number };

const rows = new Map<number, Order>();
const table = new OrdersTable(byId('orders-scroll'), byId('orders-body'), byId('orders-empty'));
const feed = new EventFeed(byId('feed-list'));
const stats = new LiveStats();
const indicator = new ConnectionIndicator(byId('connection'));
let rendered = 0;

const batch = new FrameBatch<Update>((updates, now) => {
  const items: FeedItem[] = [];
  const latencies: number[] = [];
  for (const update of updates) {
    if (update.kind === 'snapshot') {
      rows.clear();
      for (const row of update.rows) rows.set(row.id, row);
      table.replaceAll(rows.values());
      continue;
    }
    if (update.kind === 'note') {
      items.push(update);
      continue;
    }
    const { change } = update;
    if (change.effect === 'upsert') {
      rows.set(change.row.id, change.row);
      table.upsert(change.row);
    } else {
      rows.delete(change.row.id);
      table.remove(change.row.id, now);
    }
    items.push({ kind: 'change', ...change, renderedAt: now });
    latencies.push(now - change.committedAt);
  }
  // The table first: it reads scroll position, which is free only before anything is written.
  table.render(now);
  rendered += latencies.length;
  feed.add(items, now);
  stats.record(now, latencies);
}, RENDER_INTERVAL_MS);

const filterBar = new FilterBar(byId('filters'), (filter) => live.setFilter(filter));

const live = startLiveOrders({
  config: loadConfig(),
  filter: filterBar.value(),
  handlers: {
    connection(view: ConnectionView) {
      indicator.show(view);
      // Lets the stylesheet mark the table as possibly stale while no gateway is connected.
      document.body.dataset.connection = view.state;
    },
    snapshot(snapshot: Order[]) {
      // Whatever was queued describes the view the snapshot replaces.
      batch.discard((update) => update.kind !== 'note');
      batch.push({ kind: 'snapshot', rows: snapshot });
    },
    change(change: RowChange) {
      batch.push({ kind: 'change', change });
    },
    notice(text: string, tone: 'info' | 'warn') {
      // Through the batch, so a note lands in the feed in order with the changes around it.
      batch.push({ kind: 'note', text, tone, at: Date.now() });
    },
  },
});

const counters = {
  rows: byId('stat-rows'),
  rate: byId('stat-rate'),
  p50: byId('stat-p50'),
  p99: byId('stat-p99'),
};

function paintCounters(): void {
  const snapshot = stats.read(Date.now());
  setText(counters.rows, formatCount(rows.size));
  setText(counters.rate, formatCount(snapshot.eventsPerSecond));
  setText(counters.p50, formatLatency(snapshot.p50));
  setText(counters.p99, formatLatency(snapshot.p99));
}

// Counters change every frame under load but are read a few times a second; painting them on
// a timer, in a frame of their own, keeps that work off the busy frames and lets the rate
// decay to zero when changes stop.
setInterval(() => inOwnFrame(paintCounters), 250);
setInterval(() => filterBar.suggest(customerNames()), 2000);

/** The distinct customers in view, without copying every row into an array first. */
function customerNames(): Set<string> {
  const names = new Set<string>();
  for (const row of rows.values()) names.add(row.customerName);
  return names;
}

exposeHook({
  rows: () => [...rows.values()].sort((a, b) => a.id - b.id),
  state: () => indicator.view.state,
  gateway: () => (indicator.view.state === 'connected' ? indicator.view.gateway : ''),
  recovery: () => (indicator.view.state === 'connected' ? indicator.view.recovery : ''),
  rendered: () => rendered,
});

window.addEventListener('pagehide', () => live.close());
