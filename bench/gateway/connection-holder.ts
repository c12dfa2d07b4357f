/**
 * Holds the idle sockets of the connection benchmark in a process of its own, so neither
 * the measured server nor the benchmark's latency clients share a heap or an event loop with
 * them. Driven over IPC:
 *
 * - `{ type: 'open', url, count, window, localAddress? }` opens `count` sockets, at most
 *   `window` at a time, from `localAddress` when given (a loopback address of its own gives
 *   a holder its own ~28k ephemeral ports).
 *   Each one waits for the greeting, sends one subscription (`ids: [999999]`, a filter no
 *   change matches) and counts as open when the answer's `live` frame arrives. Replies
 *   `{ type: 'opened', ms, open }` or `{ type: 'failed', message }`.
 * - `{ type: 'close', count }` closes the newest `count` sockets and waits for each to end.
 *   Replies `{ type: 'closed', open }`.
 */
import WebSocket from 'ws';

type Command =
  | { type: 'open'; url: string; count: number; window: number; localAddress?: string }
  | { type: 'close'; count: number };

const SUBSCRIBE = '{"type":"subscribe","sub":"s1","filter":{"ids":[999999]}}';
const sockets: WebSocket[] = [];
const reply = (message: object) => process.send?.(message);

function openOne(url: string, localAddress: string | undefined): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, localAddress === undefined ? {} : { localAddress });
    let greeted = false;
    const fail = (error: Error) => {
      ws.terminate();
      reject(error);
    };
    ws.on('error', fail);
    ws.on('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on('close', (code) => fail(new Error(`closed with ${code} before live`)));
    ws.on('message', (data) => {
      if (!greeted) {
        greeted = true;
        ws.send(SUBSCRIBE);
        return;
      }
      if (!String(data).includes('"type":"live"')) return;
      ws.removeAllListeners();
      // A socket ended by the server later is simply gone from the count.
      ws.on('error', () => {});
      resolve(ws);
    });
  });
}

async function open(url: string, count: number, window: number, localAddress?: string): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      sockets.push(await openOne(url, localAddress));
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}

async function close(count: number): Promise<void> {
  const closing = sockets.splice(Math.max(0, sockets.length - count));
  await Promise.all(
    closing.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(1000);
        }),
    ),
  );
}

process.on('message', (command: Command) => {
  if (command.type === 'open') {
    const started = performance.now();
    open(command.url, command.count, command.window, command.localAddress).then(
      () => reply({ type: 'opened', ms: performance.now() - started, open: sockets.length }),
      (error: unknown) => reply({ type: 'failed', message: String(error) }),
    );
  } else {
    close(command.count).then(() => reply({ type: 'closed', open: sockets.length }));
  }
});
process.on('disconnect', () => process.exit(0));
