import { Kafka, logLevel } from 'kafkajs';

/** A kafkajs client on the local broker (admin, producer, consumer) that logs nothing. */
export function createTestKafka(clientId: string, brokers: readonly string[] = ['127.0.0.1:9092']): Kafka {
  return new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 300, retries: 8 },
  });
}
