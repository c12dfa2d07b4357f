/**
 * Development only: `GET /dev/token` for the compose demo, so its page can get tokens. It signs
 * with DEV_JWT_SECRET, the key the demo's gateways run development mode with; production
 * gateways refuse to start with that key, and this issuer refuses JWT_SECRET, so its tokens are
 * never valid in production. It gives a staff token to anyone who asks, so it must never be
 * reachable from another machine: compose starts it only under the `dev-tokens` profile and
 * publishes it on 127.0.0.1. Real deployments issue tokens themselves and do not run this.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { devTokenRoutes } from './auth/index.ts';
import { loadDevTokenIssuerEnv } from './dev-token-issuer-env.ts';
import { createLogger } from './logger.ts';

const env = loadDevTokenIssuerEnv();
const logger = createLogger('dev-token-issuer', env.LOG_LEVEL);
const app = new Hono();
devTokenRoutes(env.DEV_JWT_SECRET, env.ALLOWED_ORIGINS)(app);
app.get('/healthz', (c) => c.text('ok\n'));

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST });
server.once('listening', () =>
  logger.warn(
    { host: env.HOST, port: env.PORT, origins: env.ALLOWED_ORIGINS },
    'DEV TOKEN ISSUER: hands out tokens the development gateways accept to anyone who can reach it; development only',
  ),
);
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
