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
  // A round visits every socket once, a slice per tick, ticks TICK_MS apart, and the next
  // round starts an interval after this one did: pinging 10,000 sockets in one go would stall
  // every client's frames for as long as those writes (and the pongs coming back together)
  // take. At a tenth of them per tick, every 1.5 s, that was still a stall of tens of ms.
  // Rounds wait for their interval so that a socket always has one to answer, however few
  // sockets there are (a round over a handful of them ends after a tick or two).
  const intervalMs = options.intervalMs ?? 15_000;
  const slices = Math.max(MIN_SLICES, Math.round(intervalMs / TICK_MS));
  let round: Iterator<WebSocket> | undefined;
  let nextRoundAt = 0;
  const timer = setInterval(() => {
    if (round === undefined) {
      const now = Date.now();
      if (now < nextRoundAt) return;
      round = clients.values();
      nextRoundAt = now + intervalMs;
    }
    for (let budget = Math.ceil(clients.size / slices); budget > 0; budget--) {
      const next = round.next();
      if (next.done === true) {
        round = undefined;
        return;
      }
      visit(next.value);
    }
  }, intervalMs / slices);
  timer.unref();
  return () => clearInterval(timer);
}

/** Time between two ticks of a round, unless the interval is too short for {@link MIN_SLICES}. */
const TICK_MS = 100;
/** Fewest ticks per round. */
const MIN_SLICES = 10;
