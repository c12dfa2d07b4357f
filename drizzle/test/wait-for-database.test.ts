import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { env } from '../src/env.ts';
import { waitForDatabase } from '../src/wait-for-database.ts';

const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** A port that was free a moment ago, so nothing answers on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  servers.pop();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts forwarding `port` to the real PostgreSQL: the server "comes up" there. */
async function forwardToPostgres(port: number): Promise<void> {
  const target = new URL(env.DATABASE_URL);
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

function urlOnPort(port: number): string {
  const url = new URL(env.DATABASE_URL);
  url.port = String(port);
  return url.toString();
}

describe('waitForDatabase', () => {
  it('returns on the first attempt when PostgreSQL answers', async () => {
    await expect(waitForDatabase(env.DATABASE_URL, 0)).resolves.toEqual({ attempts: 1 });
  });

  it('retries while the server is not reachable yet, then returns', async () => {
    const port = await closedPort();
    const retries: string[] = [];
    const { attempts } = await waitForDatabase(urlOnPort(port), 60_000, async (_attempt, error) => {
      retries.push(error);
      // The server appears only after two refused attempts.
      if (retries.length === 2) await forwardToPostgres(port);
    });
    expect(retries).toHaveLength(2);
    for (const error of retries) expect(error).toMatch(/ECONNREFUSED/);
    expect(attempts).toBe(3);
  });

  it('gives up after the timeout, naming the server and the last error', async () => {
    const port = await closedPort();
    await expect(waitForDatabase(`postgres://someone:secret@127.0.0.1:${port}/orders`, 2500)).rejects.toThrow(
      new RegExp(
        `PostgreSQL at postgres://someone:\\*\\*\\*@127.0.0.1:${port}/postgres did not answer after [2-9]\\d* attempt\\(s\\): .*ECONNREFUSED`,
      ),
    );
  });

  it('tries once when no wait is asked for', async () => {
    const port = await closedPort();
    await expect(waitForDatabase(`postgres://127.0.0.1:${port}/orders`, 0)).rejects.toThrow(
      /after 1 attempt\(s\)/,
    );
  });

  it('says what to do when the server refuses the password, and does not retry', async () => {
    // A server that answers every login with PostgreSQL's invalid_password error (28P01).
    const field = (type: string, value: string) =>
      Buffer.concat([Buffer.from(type), Buffer.from(`${value}\0`)]);
    const body = Buffer.concat([
      field('S', 'FATAL'),
      field('V', 'FATAL'),
      field('C', '28P01'),
      field('M', 'password authentication failed for user "app"'),
      Buffer.from('\0'),
    ]);
    const length = Buffer.alloc(4);
    length.writeInt32BE(body.length + 4);
    const refusal = Buffer.concat([Buffer.from('E'), length, body]);
    let logins = 0;
    const port = await listen(
      createServer((client) => {
        sockets.add(client);
        client.once('data', () => {
          logins++;
          client.end(refusal);
        });
      }),
    );
    const waited = waitForDatabase(`postgres://app:changed@127.0.0.1:${port}/orders`, 10_000);
    await expect(waited).rejects.toThrow(
      /password authentication failed.*refused the login of "app".*ALTER ROLE "app"/,
    );
    await expect(waited).rejects.toThrow(/docker compose down -v/);
    expect(logins).toBe(1);
  });
});
