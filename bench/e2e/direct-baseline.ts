/**
 * The baseline only, never part of the system: the original direct design, one kafkajs
 * consumer broadcasting every raw Debezium envelope, as received, to every connected `ws`
 * client (no filtering, no cursors, no history). Consumer settings are kafkajs defaults.
 *
 *   node --import tsx direct-baseline.ts <port> <topic> <group>
 * Prints `ready` on stdout once it is in its consumer group and listening.
 */
import { createServer } from 'node:http';
import { Kafka, logLevel } from 'kafkajs';
import WebSocket, { WebSocketServer } from 'ws';

const [portArg, topic, groupId] = process.argv.slice(2);
if (portArg === undefined || topic === undefined || groupId === undefined) {
  throw new Error('usage: direct-baseline.ts <port> <topic> <group>');
}

const server = createServer((_req, res) => {
  res.end(String(wss.clients.size));
});
const wss = new WebSocketServer({ server });

const kafka = new Kafka({
  clientId: 'direct-baseline',
  brokers: ['127.0.0.1:9092'],
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({ groupId });
const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: false });
await consumer.run({
  eachMessage: async ({ message }) => {
    if (message.value === null) return;
    const value = message.value.toString();
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(value);
  },
});
await joined;
await new Promise<void>((resolve) => server.listen(Number(portArg), '127.0.0.1', resolve));
process.stdout.write('ready\n');

const stop = async (): Promise<void> => {
  await consumer.disconnect().catch(() => {});
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
