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
  const timer = setInterval(() => {
    for (const ws of clients) {
      if (!watched.has(ws)) {
        watched.add(ws);
        alive.add(ws);
        ws.on('pong', () => alive.add(ws));
      }
      if (ws.readyState === WebSocket.CLOSING) {
        if (closing.has(ws)) ws.terminate();
        else closing.add(ws);
        continue;
      }
      if (!alive.has(ws)) {
        options.logger.info('socket missed its pong; terminating');
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, options.intervalMs ?? 15_000);
  timer.unref();
  return () => clearInterval(timer);
}
