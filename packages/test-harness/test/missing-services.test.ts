import { createServer } from 'node:net';
import { ensureDatabase } from '@orders/drizzle';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConnectApi } from '../src/connect-api.ts';
import { connectKafkaAdmin } from '../src/kafka-admin.ts';

/** A port that was free a moment ago, so nothing answers on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

let port: number;

beforeAll(async () => {
  port = await closedPort();
});

// These prove a missing service fails loudly, by name and with where it was looked for.
describe('a missing service', () => {
  it('Kafka Connect is named with its URL', async () => {
    const url = `http://127.0.0.1:${port}`;
    await expect(new ConnectApi(url).assertDebeziumInstalled()).rejects.toThrow(
      new RegExp(`Kafka Connect is not reachable at ${url} .*ECONNREFUSED.*stack:up`),
    );
  });

  it('Kafka is named with its brokers', async () => {
    await expect(connectKafkaAdmin([`127.0.0.1:${port}`], 'missing-kafka-test')).rejects.toThrow(
      new RegExp(`Kafka is not reachable at 127.0.0.1:${port}`),
    );
  });

  it('PostgreSQL is named with the database and a redacted URL', async () => {
    await expect(ensureDatabase(`postgres://someone:secret@127.0.0.1:${port}/orders_x`)).rejects.toThrow(
      new RegExp(
        `Could not ensure database "orders_x" via postgres://someone:\\*\\*\\*@127.0.0.1:${port}/postgres: .*ECONNREFUSED`,
      ),
    );
  });
});
