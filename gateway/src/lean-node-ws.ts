/**
 * `@hono/node-ws` wires each socket inside a closure over the upgrade route's Context, so for as
 * long as the socket lives it keeps the whole request alive: Hono's Context with its closures,
 * the Fetch Request and Headers, the Response, Node's IncomingMessage (in `env`) and a URL that
 * still holds the token of `?token=`. A gateway holds tens of thousands of sockets; that request
 * was a third of what each one cost.
 *
 * This wrapper is the same upgrade path with less held: node-ws gets a context of only what it
 * reads (the `Upgrade` header, the URL without its query, and the `env` object it marks to
 * recognise its own upgrade), the app's events are built from the real Context before that, and
 * once the socket is open the Node request, the stand-in's `env` and request, and the socket
 * context's URL are let go.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { UpgradeWebSocket, WSContext, WSEvents, WSMessageReceive } from 'hono/ws';

/** What node-ws puts in `env` for the upgrade request (and reads back from it). */
interface UpgradeEnv {
  incoming?: IncomingMessage | undefined;
}

/** The request as node-ws reads it: its URL, and its `Upgrade` header through `header`. */
class LeanRequest {
  constructor(
    readonly url: string,
    readonly upgrade: string | undefined,
  ) {}

  header(name: string): string | undefined {
    return name.toLowerCase() === 'upgrade' ? this.upgrade : undefined;
  }
}

/**
 * A stand-in Context holding only what node-ws's upgrade handler reads of it. node-ws keeps it
 * for the life of the socket; once the socket is open it holds nothing.
 */
interface LeanContext {
  env: UpgradeEnv | undefined;
  req: LeanRequest | undefined;
}

function leanContext(c: Context): LeanContext {
  const { origin, pathname } = new URL(c.req.url);
  return { env: c.env as UpgradeEnv, req: new LeanRequest(`${origin}${pathname}`, c.req.header('upgrade')) };
}

/**
 * The app's events, with the upgrade's leftovers released as the socket opens. A class whose
 * methods call the app's (node-ws calls events as methods), so a socket holds one object
 * rather than a copy of the app's events and a closure over them.
 */
class ReleasingEvents<T> implements WSEvents<T> {
  constructor(
    private readonly events: WSEvents<T>,
    private readonly lean: LeanContext,
  ) {}

  onOpen(event: Event, ws: WSContext<T>): void {
    // node-ws has matched the request to its socket; nothing reads either again.
    const { lean } = this;
    if (lean.env !== undefined) lean.env.incoming = undefined;
    lean.env = undefined;
    lean.req = undefined;
    ws.url = null;
    this.events.onOpen?.(event, ws);
  }

  onMessage(event: MessageEvent<WSMessageReceive>, ws: WSContext<T>): void {
    this.events.onMessage?.(event, ws);
  }

  onClose(event: CloseEvent, ws: WSContext<T>): void {
    this.events.onClose?.(event, ws);
  }

  onError(event: Event, ws: WSContext<T>): void {
    this.events.onError?.(event, ws);
  }
}

/** `upgradeWebSocket` of node-ws, holding no request for the life of the socket. */
export function leanUpgradeWebSocket<T>(upgradeWebSocket: UpgradeWebSocket<T>): UpgradeWebSocket<T> {
  type CreateEvents = (c: Context) => WSEvents<T> | Promise<WSEvents<T>>;
  const lean = (first: Context | CreateEvents, second?: unknown, options?: unknown) => {
    if (typeof first !== 'function') {
      const c = leanContext(first);
      return upgradeWebSocket(
        c as unknown as Context,
        new ReleasingEvents(second as WSEvents<T>, c),
        options,
      );
    }
    const middleware: MiddlewareHandler = async (c, next) => {
      const events = await first(c);
      const lean = leanContext(c);
      const releasing = new ReleasingEvents(events, lean);
      return upgradeWebSocket(() => releasing, options)(lean as unknown as Context, next);
    };
    return middleware;
  };
  return lean as UpgradeWebSocket<T>;
}
