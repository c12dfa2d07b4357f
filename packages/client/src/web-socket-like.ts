/**
 * The part of the WebSocket API the client uses; both the browser's WebSocket and the `ws`
 * package satisfy it. Handlers take `never` so either runtime's event types fit; the
 * client reads only `data`, `code` and `reason` from them.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * The runtime's WebSocket: the global one (browsers, Node 22+), else `ws` loaded lazily
 * through a specifier bundlers do not follow, so browser bundles never include it.
 */
export async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return global;
  const specifier = 'ws';
  const mod = (await import(/* @vite-ignore */ specifier)) as { default: WebSocketConstructor };
  return mod.default;
}
