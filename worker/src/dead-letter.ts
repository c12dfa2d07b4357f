/**
 * Dead letters: a record that cannot become a change is copied, bytes untouched, to the
 * dead-letter topic with why and where it came from in headers, so the worker can move on
 * and an operator can inspect or replay it.
 */
import type { IHeaders, Producer } from 'kafkajs';
import type { KafkaCoordinates, PoisonReason } from './decode.ts';

export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  detail: 'x-dlq-detail',
  topic: 'x-dlq-topic',
  partition: 'x-dlq-partition',
  offset: 'x-dlq-offset',
  timestamp: 'x-dlq-timestamp',
} as const;

export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  from: KafkaCoordinates;
  reason: PoisonReason;
  detail: string;
}

export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
}

// Header values must stay small; the full record is in the value anyway.
const MAX_DETAIL = 1_000;

export function createDeadLetterSink(producer: Producer, topic: string): DeadLetterSink {
  return {
    async send(letters) {
      if (letters.length === 0) return;
      await producer.send({
        topic,
        // All in-sync replicas: a dead letter must be durable before the source offset is committed.
        acks: -1,
        messages: letters.map((letter) => ({
          key: letter.key,
          value: letter.value,
          headers: {
            ...letter.headers,
            [DLQ_HEADERS.reason]: letter.reason,
            [DLQ_HEADERS.detail]: letter.detail.slice(0, MAX_DETAIL),
            [DLQ_HEADERS.topic]: letter.from.topic,
            [DLQ_HEADERS.partition]: String(letter.from.partition),
            [DLQ_HEADERS.offset]: letter.from.offset,
            [DLQ_HEADERS.timestamp]: String(letter.from.timestamp),
          },
        })),
      });
    },
  };
}
