import { STATUS_CODES } from 'node:http';
import { Socket } from 'node:net';
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';

/**
 * Makes refused upgrades carry the app's whole response. node-ws answers a refused upgrade
 * with a bare status line, dropping `Retry-After` (429, 503) and `WWW-Authenticate` (401)
 * that clients and load balancers act on. It calls `app.request` and then `socket.end(line)`
 * on the request's socket, so this wraps `request` and, for a refusal, makes that one
 * socket's `end` send the full response instead of the bare line.
 */
export function keepUpgradeRefusals(app: Hono): void {
  const handle = app.request;
  app.request = async (input, init, env, executionCtx) => {
    const response = await handle(input, init, env, executionCtx);
    const socket = isHttpBindings(env) ? env.incoming.socket : undefined;
    if (response.status >= 300 && socket instanceof Socket) {
      const bytes = await serialize(response);
      socket.end = function endWithResponse(this: Socket) {
        return Socket.prototype.end.call(this, bytes);
      } as Socket['end'];
    }
    return response;
  };
}

function isHttpBindings(env: unknown): env is HttpBindings {
  return typeof env === 'object' && env !== null && 'incoming' in env && typeof env.incoming === 'object';
}

async function serialize(response: Response): Promise<Buffer> {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`];
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection') lines.push(`${name}: ${value}`);
  });
  lines.push(`content-length: ${body.byteLength}`, 'connection: close', '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]);
}
