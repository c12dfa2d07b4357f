import type { MiddlewareHandler } from 'hono';
import { isLoopback } from './loopback.ts';

/**
 * The name a request dialled, from its `Host` header (the URL's host when there is none), as a
 * lower-case hostname without port; undefined when it does not parse.
 */
function requestHostname(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * A page on any site can rebind its own name to 127.0.0.1 and then read this route as its
 * own origin, with no CORS involved; what gives it away is the `Host` it sends, which is its
 * name. So only loopback names are served, and the hosts of the listed page origins (a page
 * opened as http://box.lan:3000 asks box.lan for its token).
 */
export function hostGuard(allowedOrigins: readonly string[]): MiddlewareHandler {
  const named = new Set(
    allowedOrigins.flatMap((o) => {
      if (o === '*') return [];
      try {
        return [new URL(o).hostname.toLowerCase()];
      } catch {
        return [];
      }
    }),
  );
  return async (c, next) => {
    const hostname = requestHostname(c.req.header('host') ?? new URL(c.req.url).host);
    if (hostname === undefined || !(isLoopback(hostname) || named.has(hostname)))
      return c.json({ error: 'this host does not serve development tokens' }, 403);
    await next();
  };
}

/**
 * A browser request from another page carries its `Origin`; only origins listed literally are
 * served: `*` lets pages of any origin open sockets with a token, never obtain one. Scripts
 * send no Origin and pass (the host check still applies).
 */
export function originGuard(allowedOrigins: readonly string[]): MiddlewareHandler {
  const listed = new Set(allowedOrigins.filter((o) => o !== '*').map((o) => o.toLowerCase()));
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && !listed.has(origin.toLowerCase()))
      return c.json({ error: 'this origin may not fetch development tokens' }, 403);
    await next();
  };
}
