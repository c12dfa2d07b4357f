/**
 * The Node ceiling for fan-out: a bare `ws` server that sends prepared frames to every
 * connected client, in batches the size of the gateway's stream reads, and nothing else.
 * Run as its own process so it competes for the CPU the way a gateway does.
 *
 * argv: <port> <frames.json>. Sending starts on an HTTP POST /go (/go?cork=1 corks each
 * socket around a batch, as the gateway does); GET /ready reports clients.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const frames = (JSON.parse(readFileSync(String(process.argv[3]), 'utf8')) as string[]).map((text) =>
  Buffer.from(text, 'utf8'),
);
const batch = 500;

const server = createServer((req, res) => {
  if (req.url?.startsWith('/go')) {
    res.end('ok');
    const cork = req.url.includes('cork=1');
    let next = 0;
    const sendBatch = () => {
      const end = Math.min(frames.length, next + batch);
      const sockets = cork
        ? [...wss.clients].map((c) => (c as unknown as { _socket: import('node:net').Socket })._socket)
        : [];
      for (const socket of sockets) socket.cork();
      for (; next < end; next++) {
        const frame = frames[next];
        if (frame === undefined) continue;
        for (const client of wss.clients) client.send(frame, { binary: false });
      }
      for (const socket of sockets) socket.uncork();
      if (next < frames.length) setImmediate(sendBatch);
    };
    sendBatch();
    return;
  }
  res.end(String(wss.clients.size));
});
const wss = new WebSocketServer({ server });
server.listen(port, '127.0.0.1');
