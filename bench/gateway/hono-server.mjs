/**
 * The floor of the design's own upgrade path: a Hono app served by `@hono/node-server` with
 * `@hono/node-ws`, doing exactly what bare-server.mjs does (one greeting per socket, one
 * frame in answer to every message) and nothing of the gateway's: no token, no caps, no
 * subscription. What it costs over the bare `ws` server is what Hono and node-ws add to every
 * socket before the gateway does any work of its own.
 *
 * argv: <port>. A plain GET / reports the number of open sockets; an upgrade there opens one.
 */
import { serve } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';

const port = Number(process.argv[2]);
const welcome = '{"type":"welcome","gateway":"hono","protocol":1,"heartbeatMs":15000}';
const reply = '{"type":"live","sub":"s1","cursor":"hono","recovered":false}';

let open = 0;
const app = new Hono();
const { injectWebSocket, upgradeWebSocket } = createNodeWebSocket({ app });
app.get(
  '/',
  upgradeWebSocket(() => ({
    onOpen: (_event, ws) => {
      open++;
      ws.send(welcome);
    },
    onMessage: (_event, ws) => ws.send(reply),
    onClose: () => {
      open--;
    },
  })),
  (c) => c.text(String(open)),
);
injectWebSocket(serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }));
