import type { ServerFrame } from '@orders/contract';
import { assertAllClean, CheckedWebSocket } from '@orders/test-harness';
import type WebSocket from 'ws';
import { mintToken } from '../../src/auth/index.ts';

/** A bare protocol client for asserting exact frames; every frame also passes the conformance checker. */
export interface RawSocket {
  frames: ServerFrame[];
  /** The length in characters of each message as it came, by index into `frames`. */
  lengths: number[];
  ws: WebSocket;
  send(frame: unknown): void;
  sendText(text: string): void;
  /** Resolves with the first frame (from `from` on) that satisfies `match`. */
  next<T extends ServerFrame>(match: (f: ServerFrame) => f is T, timeoutMs?: number): Promise<T>;
  waitClose(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): void;
  /**
   * Closes as a client that leaves does: frames still arriving while the close completes are
   * not applied, so `frames` ends with the last one the client had when it left (and took its
   * cursor from).
   */
  leave(): void;
}

export async function openRaw(url: string): Promise<RawSocket> {
  const ws = new CheckedWebSocket(url);
  const frames: ServerFrame[] = [];
  const lengths: number[] = [];
  const listeners = new Set<() => void>();
  let closed: { code: number; reason: string } | undefined;
  let left = false;
  ws.on('message', (data) => {
    if (left) return;
    const text = String(data);
    lengths.push(text.length);
    frames.push(JSON.parse(text) as ServerFrame);
    for (const l of listeners) l();
  });
  ws.on('close', (code, reason) => {
    closed = { code, reason: String(reason) };
    for (const l of listeners) l();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  let consumed = 0;
  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const run = () => {
        try {
          assertAllClean();
        } catch (error) {
          listeners.delete(run);
          clearTimeout(timer);
          reject(error);
          return;
        }
        const value = check();
        if (value !== undefined) {
          listeners.delete(run);
          clearTimeout(timer);
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(run);
        reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames.slice(-5))}`));
      }, timeoutMs);
      listeners.add(run);
      run();
    });
  return {
    frames,
    lengths,
    ws,
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendText: (text) => ws.send(text),
    next: (match, timeoutMs = 10_000) =>
      waitFor(
        () => {
          for (; consumed < frames.length; consumed++) {
            const frame = frames[consumed];
            if (frame !== undefined && match(frame)) {
              consumed++;
              return frame;
            }
          }
          return undefined;
        },
        timeoutMs,
        'frame',
      ),
    waitClose: (timeoutMs = 10_000) => waitFor(() => closed, timeoutMs, 'close'),
    close: () => ws.close(),
    leave: () => {
      left = true;
      ws.close();
    },
  };
}

export const is =
  <K extends ServerFrame['type']>(type: K, sub?: string) =>
  (f: ServerFrame): f is Extract<ServerFrame, { type: K }> =>
    f.type === type && (sub === undefined || !('sub' in f) || f.sub === sub);

/** The sockets a suite opens: each awaited to its `welcome`, all closed together at the end. */
export class RawSocketPool {
  private readonly sockets: RawSocket[] = [];

  /** Opens `url`, with `?token=` when a token is given, and waits for `welcome`. */
  async open(url: string, token?: string): Promise<RawSocket> {
    const s = await openRaw(token === undefined ? url : `${url}?token=${token}`);
    this.sockets.push(s);
    await s.next(is('welcome'));
    return s;
  }

  /** A socket of `customer`, whose token is signed with `secret`. */
  async openCustomer(url: string, secret: string, customer: string): Promise<RawSocket> {
    return this.open(url, await mintToken(secret, { role: 'customer', customer }));
  }

  closeAll(): void {
    for (const s of this.sockets.splice(0)) s.close();
  }
}
