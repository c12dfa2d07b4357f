import { onTestFinished } from 'vitest';
import WebSocket, { type ClientOptions } from 'ws';
import { ConformanceChecker, type FaultDeclaration, type Scope } from './checker.ts';

/**
 * Every socket a test opens goes through a conformance checker. The checkers live here so
 * waits can fail at the first violation and the setup file can assert all of them after
 * each test, whichever helper opened the socket.
 */
const checkers = new Set<ConformanceChecker>();
let opened = 0;

/** Faults declared for sockets yet to open: the running test's, and the file's. */
let declared: FaultDeclaration[] = [];

/**
 * Declares a fault the test injects, for every socket (or, with `sub`, every subscription of
 * that id): each checker then accepts the resets and closes PROTOCOL.md prescribes for it, and
 * no others. A socket open while the fault is declared keeps the declaration until it closes,
 * since the fault may reach it late; sockets opened later get it while the test runs (from
 * `beforeAll` or a `describe` body: while the file runs).
 */
export function expectFaults(declaration: FaultDeclaration): void {
  for (const checker of checkers) if (!closedCheckers.has(checker)) checker.expectFaults(declaration);
  declared.push(declaration);
  try {
    onTestFinished(() => {
      declared = declared.filter((d) => d !== declaration);
    });
  } catch {
    // Not inside a test: the declaration is the file's.
  }
}

/** Throws the first unreported violation of any socket opened so far. */
export function assertAllClean(): void {
  for (const checker of checkers) if (!checker.reported) checker.assertClean();
}

const closedCheckers = new WeakSet<ConformanceChecker>();

/** Forgets checkers that cannot report anything new: reported, or closed and clean. */
export function pruneCheckers(): void {
  for (const checker of checkers)
    if (checker.reported || (closedCheckers.has(checker) && checker.violation === undefined))
      checkers.delete(checker);
}

/** Whose data the token on this upgrade grants: the query wins over the header, as on the gateway. */
export function scopeOf(url: string, headers: Record<string, string> | undefined): Scope {
  const query = new URL(url).searchParams.get('token');
  const header = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  const token = query ?? header?.replace(/^Bearer\s+/i, '');
  if (token === undefined) return { role: 'staff' };
  const payload = token.split('.')[1];
  if (payload === undefined) return { role: 'staff' };
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      role?: unknown;
      customer?: unknown;
    };
    return claims.role === 'customer' && typeof claims.customer === 'string'
      ? { role: 'customer', customer: claims.customer }
      : { role: 'staff' };
  } catch {
    return { role: 'staff' };
  }
}

/** Puts a checker between a `ws` socket and whoever reads from or writes to it. */
export function watchSocket(ws: WebSocket, scope: Scope, name: string): ConformanceChecker {
  const checker = new ConformanceChecker(name, scope);
  for (const declaration of declared) checker.expectFaults(declaration);
  checkers.add(checker);
  // Registered first, so the checker sees each frame before the test or client acts on it.
  ws.on('message', (data, isBinary) => {
    if (!isBinary) checker.onServerText(String(data));
  });
  ws.on('close', (code, reason) => {
    checker.onClose(code, reason.toString());
    closedCheckers.add(checker);
  });
  const send = ws.send.bind(ws);
  ws.send = ((data: unknown, ...rest: unknown[]) => {
    if (typeof data === 'string') checker.onClientText(data);
    return (send as (...args: unknown[]) => void)(data, ...rest);
  }) as typeof ws.send;
  // Whatever code a close the client starts carries, it is the client's own, not the gateway's.
  // `ws` answers the gateway's close frame by calling close() itself, after marking the frame
  // received: that call is the gateway's close, judged by its code.
  const close = ws.close.bind(ws);
  ws.close = ((...args: Parameters<WebSocket['close']>) => {
    if (!(ws as unknown as { _closeFrameReceived?: boolean })._closeFrameReceived) checker.onClientClose();
    close(...args);
  }) as typeof ws.close;
  const terminate = ws.terminate.bind(ws);
  ws.terminate = () => {
    checker.onClientClose();
    terminate();
  };
  return checker;
}

/** `ws`'s WebSocket with a conformance checker; pass it wherever a WebSocket class is taken. */
export class CheckedWebSocket extends WebSocket {
  readonly checker: ConformanceChecker;

  constructor(url: string | URL, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    const opts = typeof protocols === 'object' && !Array.isArray(protocols) ? protocols : options;
    if (typeof protocols === 'object' && !Array.isArray(protocols)) super(url, protocols);
    else super(url, protocols, options);
    const headers = opts?.headers as Record<string, string> | undefined;
    this.checker = watchSocket(
      this,
      scopeOf(String(url), headers),
      `socket ${++opened} to ${String(url).replace(/token=[^&]+/, 'token=…')}`,
    );
  }
}
