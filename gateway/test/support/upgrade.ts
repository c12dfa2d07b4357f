import { CheckedWebSocket } from '@orders/test-harness';
import type WebSocket from 'ws';

export type UpgradeOutcome =
  | { status: 101; ws: WebSocket }
  | { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** Tries one upgrade and reports what the gateway answered (101 = opened; else status, headers, body). */
export function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new CheckedWebSocket(url, { headers });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
    ws.once('error', (error) => {
      if (ws.readyState !== ws.CLOSED) reject(error);
    });
  });
}
