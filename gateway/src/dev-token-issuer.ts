/**
 * Development only: `GET /dev/token` for gateways that run with AUTH_MODE=production (compose),
 * so the demo page can get tokens. It signs with the gateways' own JWT_SECRET and gives a staff
 * token to anyone who asks, so it must never be reachable from another machine: compose starts
 * it only under the `dev-tokens` profile and publishes it on 127.0.0.1. Real deployments issue
 * tokens themselves and do not run this.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { devTokenRoutes } from './auth/index.ts';
import { loadDevTokenIssuerEnv } from './dev-token-issuer-env.ts';
import { createLogger } from './logger.ts';

const env = loadDevTokenIssuerEnv();
const logger = createLogger('dev-token-issuer', env.LOG_LEVEL);
const app = new Hono();
devTokenRoutes(env.JWT_SECRET, env.ALLOWED_ORIGINS)(app);
app.get('/healthz', (c) => c.text('ok\n'));

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST });
server.once('listening', () =>
  logger.warn(
    { host: env.HOST, port: env.PORT, origins: env.ALLOWED_ORIGINS },
    'DEV TOKEN ISSUER: hands out tokens the production gateways accept to anyone who can reach it; development only',
  ),
);
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
