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
 * once the socket is open the Node request and the context's URL are let go.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { UpgradeWebSocket, WSEvents } from 'hono/ws';

/** What node-ws puts in `env` for the upgrade request (and reads back from it). */
interface UpgradeEnv {
  incoming?: IncomingMessage | undefined;
}

/** A stand-in Context holding only what node-ws's upgrade handler reads of it. */
function leanContext(c: Context): Context {
  const upgrade = c.req.header('upgrade');
  const { origin, pathname } = new URL(c.req.url);
  const req = {
    url: `${origin}${pathname}`,
    header: (name: string) => (name.toLowerCase() === 'upgrade' ? upgrade : undefined),
  };
  return { env: c.env, req } as unknown as Context;
}

/** The app's events, with the upgrade's leftovers released as the socket opens. */
function releasingOnOpen<T>(events: WSEvents<T>, env: UpgradeEnv): WSEvents<T> {
  return {
    ...events,
    onOpen(event, ws) {
      // node-ws has matched the request to its socket; nothing reads either again.
      env.incoming = undefined;
      ws.url = null;
      events.onOpen?.(event, ws);
    },
  };
}

/** `upgradeWebSocket` of node-ws, holding no request for the life of the socket. */
export function leanUpgradeWebSocket<T>(upgradeWebSocket: UpgradeWebSocket<T>): UpgradeWebSocket<T> {
  type CreateEvents = (c: Context) => WSEvents<T> | Promise<WSEvents<T>>;
  const lean = (first: Context | CreateEvents, second?: unknown, options?: unknown) => {
    if (typeof first !== 'function') {
      const events = releasingOnOpen(second as WSEvents<T>, first.env as UpgradeEnv);
      return upgradeWebSocket(leanContext(first), events, options);
    }
    const middleware: MiddlewareHandler = async (c, next) => {
      const events = releasingOnOpen(await first(c), c.env as UpgradeEnv);
      return upgradeWebSocket(() => events, options)(leanContext(c), next);
    };
    return middleware;
  };
  return lean as UpgradeWebSocket<T>;
}
