import { describeError } from '@orders/drizzle';
import { type Admin, Kafka, logLevel } from 'kafkajs';

/** A connected kafkajs admin, or an error naming the brokers that could not be reached. */
export async function connectKafkaAdmin(brokers: readonly string[], clientId: string): Promise<Admin> {
  // kafkajs logs every retry to the console; the thrown error below says everything needed.
  const kafka = new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 3, initialRetryTime: 200 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `Kafka is not reachable at ${brokers.join(',')}: ${describeError(error)}; start the stack with "npm run stack:up"`,
      { cause: error },
    );
  }
  return admin;
}

/** Creates the topic unless it exists; waits for partition leaders so producers never race. */
export async function ensureTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } catch (error) {
    throw new Error(`Kafka: could not create topic ${topic}: ${describeError(error)}`, { cause: error });
  }
}

/** Deletes the topics among `topics` that exist; missing ones are not an error. */
export async function deleteTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const doomed = topics.filter((topic) => existing.has(topic));
  if (doomed.length > 0) await admin.deleteTopics({ topics: doomed, timeout: 30_000 });
}
