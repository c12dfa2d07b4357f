import WebSocket from 'ws';
import { CheckedWebSocket } from './checked-socket.ts';

export type UpgradeOutcome = { status: 101; ws: WebSocket } | { status: number };

/** Tries one upgrade and reports the HTTP status the gateway answered with (101 = opened). */
export function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new CheckedWebSocket(url, { headers });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (error) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(error);
    });
  });
}
