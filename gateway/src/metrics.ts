import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SendStats } from './send-stats.ts';

export interface Metrics {
  registry: Registry;
  snapshotDuration: Histogram;
  replayDuration: Histogram;
  /** Snapshot pages read from PostgreSQL. */
  snapshotPageReads: Counter;
  /** Snapshot pages a subscriber took from a read another subscriber started. */
  snapshotPagesShared: Counter;
  /** Seconds from the PostgreSQL commit to the gateway handing the change to its sockets. */
  commitToDispatch: Histogram;
  /** Stage 3 of a change's path: Redis append (stream id time) to this gateway's read. */
  redisToRead: Histogram;
  /** Stage 4: this gateway's read to the frame handed to the sockets. */
  readToWrite: Histogram;
  streamLag: Gauge;
  streamPending: Gauge;
  eventsRead: Counter;
  invalidEntries: Counter;
  /** Breaks of this gateway's stream (lost entries, recreated stream, lapse, new epoch), by kind. */
  streamBreaks: Counter<'kind'>;
}

/** What the gauges count, read at scrape time: the hub. */
export interface GatewayCounts {
  readonly connections: { readonly size: number };
  subscriptionCount(): number;
}

/** One registry per gateway instance, so tests can run several in one process. */
export function createMetrics(hub: GatewayCounts, stats: SendStats): Metrics {
  const registry = new Registry();
  const seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  // The worker's stage histograms have the same bounds, so one change path's stages compare.
  const stage = [
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1,
    2.5, 5, 10,
  ];
  new Gauge({
    name: 'gateway_connections',
    help: 'Open WebSocket connections',
    registers: [registry],
    collect() {
      this.set(hub.connections.size);
    },
  });
  new Gauge({
    name: 'gateway_subscriptions',
    help: 'Active subscriptions',
    registers: [registry],
    collect() {
      this.set(hub.subscriptionCount());
    },
  });
  counterFrom(registry, 'gateway_frames_sent_total', 'Frames sent to sockets', () => stats.frames);
  counterFrom(
    registry,
    'gateway_bytes_sent_total',
    'Bytes (UTF-16 units) sent to sockets',
    () => stats.bytes,
  );
  counterFrom(registry, 'gateway_changes_sent_total', 'Change frames sent to sockets', () => stats.changes);
  counterFrom(registry, 'gateway_slow_consumers_total', 'Sockets cut off as slow', () => stats.slowConsumers);
  counterFrom(
    registry,
    'gateway_conflated_changes_total',
    'Change frames replaced by a newer one for the same order on a lagging socket',
    () => stats.conflated,
  );
  return {
    registry,
    snapshotDuration: new Histogram({
      name: 'gateway_snapshot_duration_seconds',
      help: 'Time to read and send one snapshot',
      buckets: seconds,
      registers: [registry],
    }),
    replayDuration: new Histogram({
      name: 'gateway_replay_duration_seconds',
      help: 'Time to replay history for one subscription',
      buckets: seconds,
      registers: [registry],
    }),
    snapshotPageReads: new Counter({
      name: 'gateway_snapshot_page_reads_total',
      help: 'Snapshot pages read from PostgreSQL',
      registers: [registry],
    }),
    snapshotPagesShared: new Counter({
      name: 'gateway_snapshot_pages_shared_total',
      help: 'Snapshot pages served from a read another subscription started (one query, many subscribers)',
      registers: [registry],
    }),
    commitToDispatch: new Histogram({
      name: 'gateway_commit_to_dispatch_seconds',
      help: 'PostgreSQL commit to fan-out on this gateway',
      buckets: seconds,
      registers: [registry],
    }),
    redisToRead: new Histogram({
      name: 'gateway_redis_to_read_seconds',
      help: 'Redis append (stream id time) to this gateway reading the entry',
      buckets: stage,
      registers: [registry],
    }),
    readToWrite: new Histogram({
      name: 'gateway_read_to_write_seconds',
      help: 'This gateway reading an entry to its frames being handed to the sockets',
      buckets: stage,
      registers: [registry],
    }),
    streamLag: new Gauge({
      name: 'gateway_stream_lag',
      help: 'Entries in this gateway stream not yet read',
      registers: [registry],
    }),
    streamPending: new Gauge({
      name: 'gateway_stream_pending',
      help: 'Entries read but not acknowledged',
      registers: [registry],
    }),
    eventsRead: new Counter({
      name: 'gateway_events_read_total',
      help: 'Entries read from this gateway stream',
      registers: [registry],
    }),
    invalidEntries: new Counter({
      name: 'gateway_invalid_entries_total',
      help: 'Stream entries that failed validation',
      registers: [registry],
    }),
    streamBreaks: new Counter({
      name: 'gateway_stream_breaks_total',
      help: 'Breaks of this gateway stream that made subscriptions resync from history or reset',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}

function counterFrom(registry: Registry, name: string, help: string, read: () => number): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      this.inc(now - reported);
      reported = now;
    },
  });
}
