/**
 * Prometheus metrics of one worker. A factory with its own registry, so several workers in
 * one test process do not collide on metric names.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface WorkerMetrics {
  registry: Registry;
  consumed: Counter<'topic'>;
  forwarded: Counter<'topic'>;
  deadLettered: Counter<'reason'>;
  duplicatesSkipped: Counter<'topic'>;
  sourceDuplicatesSkipped: Counter<'topic'>;
  resetMarkers: Counter<'reason'>;
  partitionsStuck: Gauge;
  staleMarksReset: Counter<'topic'>;
  epochRotations: Counter<'topic'>;
  commitsDeferred: Counter;
  ignored: Counter<'reason'>;
  errors: Counter<'stage'>;
  lag: Gauge<'topic' | 'partition'>;
  liveGateways: Gauge;
  gatewaysReaped: Counter;
  batchDuration: Histogram<'topic'>;
  forwardLatency: Histogram;
  /** Stage 1 of a change's path: PostgreSQL commit to the Kafka record's timestamp. */
  commitToKafka: Histogram;
}

/**
 * Buckets of the per-stage latency histograms (seconds). Fine below 10 ms, where a healthy
 * stage sits, and wide enough above to locate a tail; the gateway's stage histograms use the
 * same bounds so the stages of one change path can be compared bucket by bucket.
 */
export const STAGE_BUCKETS = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1,
  2.5, 5, 10,
];

export interface MetricsOptions {
  /** Also collect Node process metrics (event loop lag, heap…). Default true. */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    consumed: new Counter({
      name: 'worker_records_consumed_total',
      help: 'Kafka records received, whatever became of them',
      labelNames: ['topic'],
      registers,
    }),
    forwarded: new Counter({
      name: 'worker_changes_forwarded_total',
      help: 'Changes appended to history (and every live gateway stream)',
      labelNames: ['topic'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'worker_dead_letters_total',
      help: 'Records sent to the dead-letter topic',
      labelNames: ['reason'],
      registers,
    }),
    duplicatesSkipped: new Counter({
      name: 'worker_duplicates_skipped_total',
      help: 'Redelivered records already in Redis (at or below the high-water mark)',
      labelNames: ['topic'],
      registers,
    }),
    sourceDuplicatesSkipped: new Counter({
      name: 'worker_source_duplicates_skipped_total',
      help: 'Changes Debezium sent again under new offsets (at or below the source-position mark)',
      labelNames: ['topic'],
      registers,
    }),
    resetMarkers: new Counter({
      name: 'worker_reset_markers_total',
      help: 'Reset markers written to history and gateway streams (re-snapshot, truncate)',
      labelNames: ['reason'],
      registers,
    }),
    partitionsStuck: new Gauge({
      name: 'worker_partitions_stuck',
      help: 'Partitions held up by a step (dead-letter send, forward) that keeps failing; not ready while above 0',
      registers,
    }),
    staleMarksReset: new Counter({
      name: 'worker_stale_marks_reset_total',
      help: 'High-water marks at or past the partition end (left by a deleted incarnation of the topic) that were reset',
      labelNames: ['topic'],
      registers,
    }),
    epochRotations: new Counter({
      name: 'worker_epoch_rotations_total',
      help: 'History epochs replaced because Redis lost writes the worker had made (every subscription resets)',
      labelNames: ['topic'],
      registers,
    }),
    commitsDeferred: new Counter({
      name: 'worker_commits_deferred_total',
      help: 'Kafka commits put off because fewer Redis replicas than REDIS_WAIT_REPLICAS had the writes',
      registers,
    }),
    ignored: new Counter({
      name: 'worker_records_ignored_total',
      help: 'Tombstones, heartbeats and other records that are not row changes',
      labelNames: ['reason'],
      registers,
    }),
    errors: new Counter({
      name: 'worker_errors_total',
      help: 'Failed attempts that were retried after a backoff',
      labelNames: ['stage'],
      registers,
    }),
    lag: new Gauge({
      name: 'worker_partition_lag',
      help: 'Records in the partition after the last one processed',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    liveGateways: new Gauge({
      name: 'worker_live_gateways',
      help: 'Gateways the last forward call appended to',
      registers,
    }),
    gatewaysReaped: new Counter({
      name: 'worker_gateways_reaped_total',
      help: 'Gateways removed after missing heartbeats for longer than the TTL',
      registers,
    }),
    batchDuration: new Histogram({
      name: 'worker_batch_duration_seconds',
      help: 'Time to process one Kafka batch, decode to commit',
      labelNames: ['topic'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    forwardLatency: new Histogram({
      name: 'worker_forward_latency_seconds',
      help: 'Kafka record timestamp to Redis append (stream id time)',
      buckets: STAGE_BUCKETS,
      registers,
    }),
    commitToKafka: new Histogram({
      name: 'worker_commit_to_kafka_seconds',
      help: 'PostgreSQL commit (Debezium source.ts_ms) to the Kafka record timestamp',
      buckets: STAGE_BUCKETS,
      registers,
    }),
  };
}
