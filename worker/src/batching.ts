/**
 * A Kafka batch as the forwarder takes it: decoded records in chunks of at most `chunkSize`,
 * each with its poison records set aside as dead letters and the last offset it covers.
 */
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { DeadLetter } from './dead-letter.ts';
import { decodeRecord, type KafkaCoordinates } from './decode.ts';
import type { ForwardRecord } from './forward-records.ts';
import type { WorkerMetrics } from './metrics.ts';

export interface Chunk {
  records: ForwardRecord[];
  letters: DeadLetter[];
  lastOffset: string;
}

function coordinates(topic: string, partition: number, message: KafkaMessage): KafkaCoordinates {
  return { topic, partition, offset: message.offset, timestamp: Number(message.timestamp) };
}

export function splitBatch(
  batch: EachBatchPayload['batch'],
  chunkSize: number,
  metrics: WorkerMetrics,
  logger: Logger,
): Chunk[] {
  const chunks: Chunk[] = [];
  for (let i = 0; i < batch.messages.length; i += chunkSize) {
    const chunk: Chunk = { records: [], letters: [], lastOffset: '' };
    for (const message of batch.messages.slice(i, i + chunkSize)) {
      const at = coordinates(batch.topic, batch.partition, message);
      const result = decodeRecord(message.value, at);
      chunk.lastOffset = message.offset;
      if (result.kind === 'change')
        chunk.records.push({ offset: message.offset, change: result.change, ...result.source });
      else if (result.kind === 'reset') {
        const { reason, position } = result;
        chunk.records.push({
          offset: message.offset,
          change: null,
          position,
          snapshotRead: false,
          reset: reason,
        });
      } else if (result.kind === 'ignore') metrics.ignored.inc({ reason: result.reason });
      else {
        logger.warn(
          { offset: message.offset, partition: batch.partition, reason: result.reason },
          'poison record: dead-lettered, and a reset marker takes its place so no subscription misses it silently',
        );
        // Which subscriptions the change concerned is unknown (its row could not be read), so
        // the marker resets every one of them, in the same step as the records around it.
        chunk.records.push({
          offset: message.offset,
          change: null,
          position: null,
          snapshotRead: false,
          reset: 'undeliverable',
        });
        chunk.letters.push({
          key: message.key ?? null,
          value: message.value,
          headers: message.headers,
          from: at,
          reason: result.reason,
          detail: result.detail,
        });
      }
    }
    chunks.push(chunk);
  }
  return chunks;
}
