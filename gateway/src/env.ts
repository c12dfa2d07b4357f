import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { MIN_SECRET_LENGTH } from './auth/verify-token.ts';

const envSchema = z.object({
  /** Stable id across restarts lets a gateway drain what it had not acknowledged. */
  GATEWAY_ID: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .default(() => `gw-${randomUUID().slice(0, 8)}`),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  REDIS_NS: z.string().min(1).default('orders'),
  DATABASE_READER_URL: z.string().url().default('postgres://orders_reader:reader@127.0.0.1:5432/orders'),
  /** Registry heartbeat; the worker's TTL should be several of these. */
  GATEWAY_HEARTBEAT_MS: z.coerce.number().int().positive().default(1000),
  /** Ping interval announced to clients in `welcome`. */
  CLIENT_HEARTBEAT_MS: z.coerce.number().int().positive().default(15_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `development` mints demo tokens at /dev/token; `production` needs a real JWT_SECRET and never mints. */
  AUTH_MODE: z.enum(['development', 'production']).default('development'),
  /** HS256 key shared with whatever issues tokens; development falls back to a fixed, public one. */
  JWT_SECRET: z
    .string()
    .min(MIN_SECRET_LENGTH, `JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters`)
    .optional(),
  /** Comma-separated browser origins allowed to open sockets; `*` allows any. Requests without Origin pass. */
  ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((v) =>
      v
        ?.split(',')
        .map((o) => o.trim())
        .filter((o) => o !== ''),
    ),
  /** Open sockets above which upgrades get 503. */
  MAX_CONNECTIONS: z.coerce.number().int().positive().default(10_000),
  /** Open sockets per client address above which upgrades get 429. */
  MAX_CONNECTIONS_PER_IP: z.coerce.number().int().positive().default(256),
  /** Open sockets per principal (`staff`, or one customer) above which upgrades get 429. */
  MAX_CONNECTIONS_PER_PRINCIPAL: z.coerce.number().int().positive().default(64),
  /** Comma-separated proxy addresses whose `X-Forwarded-For` is believed; empty trusts none. */
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
    ),
  /** Snapshot queries this gateway runs at once; also the size of its PostgreSQL pool. */
  SNAPSHOT_CONCURRENCY: z.coerce.number().int().positive().max(64).default(4),
  /** Snapshots one socket may have loading at once; more wait their turn. */
  SNAPSHOTS_PER_SOCKET: z.coerce.number().int().positive().default(2),
  /** Serve `/metrics` on this port (on METRICS_HOST) instead of the main one. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** Bearer token `/metrics` requires wherever it is served. */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
});

export type GatewayEnv = z.infer<typeof envSchema>;

/** The page's dev and preview servers; production lists its own origins. */
const DEV_ORIGINS = [
  'http://127.0.0.1:5173',
  'http://localhost:5173',
  'http://127.0.0.1:4173',
  'http://localhost:4173',
];

/** Known to everyone who reads this file, which is the point: it only ever signs demo tokens. */
export const DEV_JWT_SECRET = 'development-only-secret-never-use-in-production';

export interface AuthSettings {
  mode: GatewayEnv['AUTH_MODE'];
  secret: string;
  allowedOrigins: string[];
}

/** Production refuses to start without a real secret rather than run open or with a public key. */
export function authSettings(env: GatewayEnv): AuthSettings {
  if (env.AUTH_MODE === 'production') {
    if (env.JWT_SECRET === undefined)
      throw new Error('AUTH_MODE=production requires JWT_SECRET (≥ 32 characters)');
    if (env.JWT_SECRET === DEV_JWT_SECRET)
      throw new Error('AUTH_MODE=production cannot use the development secret');
    return { mode: 'production', secret: env.JWT_SECRET, allowedOrigins: env.ALLOWED_ORIGINS ?? [] };
  }
  return {
    mode: 'development',
    secret: env.JWT_SECRET ?? DEV_JWT_SECRET,
    allowedOrigins: env.ALLOWED_ORIGINS ?? DEV_ORIGINS,
  };
}

/** Validated once at start-up; a bad variable stops the process with a readable message. */
export function loadEnv(source: Record<string, string | undefined> = process.env): GatewayEnv {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) throw new Error(`invalid gateway environment: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
