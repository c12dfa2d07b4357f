import { connect, createServer, type Socket } from 'node:net';
import { createClient } from 'redis';
import type { RedisClient } from '../../src/stream/redis-client.ts';

const REDIS_URL = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

/**
 * A TCP relay in front of Redis that holds a connection's commands, from the first one whose
 * bytes match `holdOn`, until `release()`. Lets a test see a gateway in the state it is in
 * while a Redis reply is outstanding, without a clock: nothing passes until the test says so.
 */
export interface RedisGate {
  /** A client of its own that talks to Redis through the gate (duplicates do too). */
  client(): Promise<RedisClient>;
  /** Commands held so far (one entry per held chunk). */
  readonly held: number;
  release(): void;
  close(): Promise<void>;
}

export async function openRedisGate(holdOn: RegExp): Promise<RedisGate> {
  let open = false;
  let held = 0;
  const waiting: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(Number(REDIS_URL.port || 6379), REDIS_URL.hostname);
    sockets.add(inbound).add(outbound);
    let holding = false;
    const queue: Buffer[] = [];
    const forward = () => {
      for (const chunk of queue.splice(0)) outbound.write(chunk);
      holding = false;
    };
    inbound.on('data', (chunk: Buffer) => {
      if (!open && !holding && holdOn.test(chunk.toString('latin1'))) {
        holding = true;
        held++;
        waiting.push(forward);
      }
      if (holding) queue.push(chunk);
      else outbound.write(chunk);
    });
    outbound.on('data', (chunk) => inbound.write(chunk));
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', end).on('error', end);
    outbound.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('gate has no port');
  const clients: RedisClient[] = [];
  return {
    async client() {
      const client: RedisClient = createClient({
        url: `redis://127.0.0.1:${address.port}`,
        socket: { reconnectStrategy: false },
      });
      client.on('error', () => {});
      await client.connect();
      clients.push(client);
      return client;
    },
    get held() {
      return held;
    },
    release() {
      open = true;
      for (const go of waiting.splice(0)) go();
    },
    async close() {
      for (const client of clients) client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
