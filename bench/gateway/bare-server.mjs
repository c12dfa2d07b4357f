/**
 * The baseline for memory and connection cost: a bare `ws` server that greets each socket
 * with one frame and answers every message with one frame, and keeps nothing of its own.
 * Run as its own process, like the gateway, so both are measured the same way; plain
 * JavaScript, as the gateway is measured compiled.
 *
 * argv: <port>. GET /ready reports the number of open sockets.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const welcome = Buffer.from('{"type":"welcome","gateway":"bare","protocol":1,"heartbeatMs":15000}');
const reply = Buffer.from('{"type":"live","sub":"s1","cursor":"bare","recovered":false}');

const server = createServer((_req, res) => {
  res.end(String(wss.clients.size));
});
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  ws.send(welcome, { binary: false });
  ws.on('message', () => ws.send(reply, { binary: false }));
});
server.listen(port, '127.0.0.1');
