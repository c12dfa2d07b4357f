import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaLogCreator } from './logger.ts';

/** A kafkajs client whose logs go through pino. */
export function createKafka(brokers: string[], clientId: string, logger: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(logger),
    retry: { initialRetryTime: 300, retries: 8 },
  });
}
