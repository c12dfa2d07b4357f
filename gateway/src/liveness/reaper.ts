import type { Logger } from 'pino';
import WebSocket from 'ws';

export interface ReaperOptions {
  /** Ping interval; a socket that has not answered the previous ping by the next tick is dead. @default 15000 */
  intervalMs?: number;
  logger: Logger;
}

/**
 * Protocol-level ping/pong over every socket. Half-open TCP connections (a phone leaving
 * coverage) never report a close and would hold their subscriptions and buffers forever;
 * a socket that misses a pong, or is still closing a full tick after its close frame
 * (a client that stopped reading never completes the handshake), is terminated.
 */
export function startReaper(clients: Set<WebSocket>, options: ReaperOptions): () => void {
  const alive = new WeakSet<WebSocket>();
  const watched = new WeakSet<WebSocket>();
  const closing = new WeakSet<WebSocket>();
  const visit = (ws: WebSocket) => {
    if (!watched.has(ws)) {
      watched.add(ws);
      alive.add(ws);
      ws.on('pong', () => alive.add(ws));
    }
    if (ws.readyState === WebSocket.CLOSING) {
      if (closing.has(ws)) ws.terminate();
      else closing.add(ws);
      return;
    }
    if (!alive.has(ws)) {
      options.logger.info('socket missed its pong; terminating');
      ws.terminate();
      return;
    }
    alive.delete(ws);
    ws.ping();
  };
  // A round visits every socket once per interval, a slice per tick: pinging 10,000 sockets in
  // one go would stall every client's frames for as long as those writes take.
  let round: Iterator<WebSocket> | undefined;
  const timer = setInterval(
    () => {
      for (let budget = Math.ceil(clients.size / SLICES); budget > 0; budget--) {
        round ??= clients.values();
        const next = round.next();
        if (next.done === true) {
          round = undefined; // the next tick starts the next round
          return;
        }
        visit(next.value);
      }
    },
    (options.intervalMs ?? 15_000) / SLICES,
  );
  timer.unref();
  return () => clearInterval(timer);
}

/** Ticks per round. */
const SLICES = 10;
