import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import { type Context, Hono } from 'hono';
import type { UpgradeWebSocket, WSContext, WSEvents } from 'hono/ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { leanUpgradeWebSocket } from './lean-node-ws.ts';

const servers: ReturnType<typeof serve>[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A node-ws server echoing each message, with every upgrade's `env` and socket context kept for the test. */
async function echoServer() {
  const app = new Hono();
  const nodeWs = createNodeWebSocket({ app });
  const upgradeWebSocket = leanUpgradeWebSocket(nodeWs.upgradeWebSocket);
  const envs: { incoming?: unknown }[] = [];
  const opened: WSContext[] = [];
  app.get(
    '/ws',
    async (c, next) => {
      envs.push(c.env as { incoming?: unknown });
      await next();
    },
    upgradeWebSocket((c) => {
      const token = c.req.query('token');
      return {
        onOpen(_event, ws) {
          opened.push(ws);
        },
        onMessage(event, ws) {
          ws.send(`${token}:${String(event.data)}`);
        },
      };
    }),
  );
  app.get('/plain', (c) => c.text('plain'));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  servers.push(server);
  nodeWs.injectWebSocket(server);
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', resolve)));
  return { port: (server.address() as AddressInfo).port, envs, opened };
}

describe('leanUpgradeWebSocket', () => {
  it('upgrades and serves the socket with events built from the real request', async () => {
    const { port } = await echoServer();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=t1`);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send('hello');
    const [reply] = await new Promise<WebSocket.RawData[]>((resolve) =>
      ws.once('message', (d) => resolve([d])),
    );
    expect(String(reply)).toBe('t1:hello');
    ws.close();
  });

  it('lets the upgrade request and its URL (with the token) go once the socket is open', async () => {
    const { port, envs, opened } = await echoServer();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=secret`);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send('x');
    await new Promise((resolve) => ws.once('message', resolve));
    expect(envs).toHaveLength(1);
    expect(envs[0]?.incoming).toBeUndefined();
    expect(opened[0]?.url).toBeNull();
    ws.close();
  });

  it('passes requests that are no upgrade on to the next handler', async () => {
    const { port } = await echoServer();
    const response = await fetch(`http://127.0.0.1:${port}/ws`);
    // No `Upgrade: websocket`: node-ws declines and the route has nothing after it.
    expect(response.status).toBe(404);
    expect(await (await fetch(`http://127.0.0.1:${port}/plain`)).text()).toBe('plain');
  });
});

describe('leanUpgradeWebSocket with events on a prototype', () => {
  /** Events whose handlers are class methods, as the gateway's are: node-ws calls them as methods. */
  class Echo {
    constructor(readonly prefix: string) {}
    onMessage(event: MessageEvent, ws: WSContext) {
      ws.send(`${this.prefix}:${String(event.data)}`);
    }
  }

  it('calls the app events as methods of their object', async () => {
    const app = new Hono();
    const nodeWs = createNodeWebSocket({ app });
    const upgradeWebSocket = leanUpgradeWebSocket(nodeWs.upgradeWebSocket);
    app.get(
      '/ws',
      upgradeWebSocket(() => new Echo('proto')),
    );
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    servers.push(server);
    nodeWs.injectWebSocket(server);
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', resolve)));
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send('hi');
    const reply = await new Promise<WebSocket.RawData>((resolve) => ws.once('message', resolve));
    expect(String(reply)).toBe('proto:hi');
    ws.close();
  });

  it('hands node-ws a stand-in that holds neither env nor request once the socket is open', async () => {
    let given: { env?: unknown; req?: { url: string; header(name: string): string | undefined } } | undefined;
    let events: WSEvents | undefined;
    // node-ws's handler as far as the wrapper sees it: it reads the stand-in, then opens the socket.
    const fake = ((c: typeof given, e: WSEvents) => {
      given = c;
      events = e;
      return Promise.resolve(new Response());
    }) as unknown as UpgradeWebSocket;
    const env = { incoming: {} };
    const c = {
      env,
      req: {
        url: 'http://127.0.0.1:1/ws?token=secret',
        header: (n: string) => (n === 'upgrade' ? 'websocket' : 'x'),
      },
    } as unknown as Context;
    const opened: string[] = [];
    await leanUpgradeWebSocket(fake)(c, { onOpen: () => opened.push('open') });
    expect(given?.req?.url).toBe('http://127.0.0.1:1/ws');
    expect(given?.req?.header('Upgrade')).toBe('websocket');
    expect(given?.req?.header('host')).toBeUndefined();
    expect(given?.env).toBe(env);
    const ws = { url: new URL('http://127.0.0.1:1/ws') } as unknown as WSContext;
    events?.onOpen?.(new Event('open'), ws);
    expect(opened).toEqual(['open']);
    expect(env.incoming).toBeUndefined();
    expect(given?.env).toBeUndefined();
    expect(given?.req).toBeUndefined();
    expect(ws.url).toBeNull();
  });
});
