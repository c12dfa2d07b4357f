/** What one forwarded chunk tells the metrics and the log: counts, duplicates, markers, latencies. */
import type { Logger } from 'pino';
import type { ForwardRecord, ForwardResult } from './forward-records.ts';
import type { WorkerMetrics } from './metrics.ts';

export function recordForward(
  metrics: WorkerMetrics,
  logger: Logger,
  result: ForwardResult,
  records: ForwardRecord[],
  topic: string,
): void {
  const { skipped, sourceSkipped } = result;
  metrics.forwarded.inc({ topic }, result.ids.length);
  metrics.duplicatesSkipped.inc({ topic }, skipped);
  metrics.sourceDuplicatesSkipped.inc({ topic }, sourceSkipped);
  metrics.liveGateways.set(result.gateways);
  if (skipped > 0) logger.info({ skipped }, 'skipped redelivered records already in Redis');
  if (sourceSkipped > 0) logger.info({ sourceSkipped }, 'skipped changes Debezium sent again');
  for (let i = 0; i < records.length; i++) {
    const input = records[i];
    const id = result.entries[i];
    if (input === undefined || id == null) continue;
    if (input.reset) {
      metrics.resetMarkers.inc({ reason: input.reset });
      logger.warn({ reason: input.reset, id, offset: input.offset }, 'reset marker written');
    }
    if (input.change === null) continue;
    // A stream id starts with the Redis clock in ms at the append.
    const appendedAt = Number(id.slice(0, id.indexOf('-')));
    metrics.forwardLatency.observe(Math.max(0, appendedAt - input.change.kafka.timestamp) / 1000);
    metrics.commitToKafka.observe(
      Math.max(0, input.change.kafka.timestamp - input.change.committedAt) / 1000,
    );
  }
}
