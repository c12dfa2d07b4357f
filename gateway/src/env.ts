import { randomUUID } from 'node:crypto';
import { isShardCount, MAX_SHARDS } from '@orders/contract/redis';
import { redisClusterSeeds, redisSelectionError } from '@orders/redis';
import { z } from 'zod';
import { isLoopback } from './auth/loopback.ts';
import { strongSecret } from './auth/secret-strength.ts';
import { DEFAULT_LEEWAY_S, MIN_SECRET_LENGTH } from './auth/verify-token.ts';
import { DEFAULT_REPLAY_MAX_ENTRIES } from './snapshot/snapshot-scheduler.ts';

/** Compose passes `${VAR:-}` as an empty string: that means the variable is not set. */
function unsetWhenEmpty<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === '' ? undefined : v), schema);
}

export const envSchema = z.object({
  /** Stable id across restarts lets a gateway drain what it had not acknowledged. */
  GATEWAY_ID: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .default(() => `gw-${randomUUID().slice(0, 8)}`),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Bind address. Development defaults to (and insists on) loopback; production to 0.0.0.0. */
  HOST: z.string().min(1).optional(),
  /** Only read to decide the auth mode when AUTH_MODE is not set. */
  NODE_ENV: z.string().optional(),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** Seed nodes of a Redis Cluster (`redis://h:p,…`); when set, the gateway runs on the cluster. */
  REDIS_CLUSTER: redisClusterSeeds,
  REDIS_NS: z.string().min(1).default('orders'),
  /**
   * Shard groups, as the worker has them: the gateway registers in, and reads a stream of,
   * every group, and its cursors carry one position per group. 1 (the default): one hash tag.
   */
  REDIS_SHARDS: z
    .string()
    .default('1')
    .refine((s) => /^\d+$/.test(s.trim()) && isShardCount(Number(s)), {
      message: `REDIS_SHARDS must be a positive integer (at most ${MAX_SHARDS})`,
    })
    .transform(Number),
  DATABASE_READER_URL: z.string().url().default('postgres://orders_reader:reader@127.0.0.1:5432/orders'),
  /** Registry heartbeat; the worker's TTL should be several of these. */
  GATEWAY_HEARTBEAT_MS: z.coerce.number().int().positive().default(1000),
  /** The worker's GATEWAY_TTL_MS: heartbeats this far apart may have been skipped by the worker. */
  GATEWAY_TTL_MS: z.coerce.number().int().positive().default(10_000),
  /** Ping interval announced to clients in `welcome`. */
  CLIENT_HEARTBEAT_MS: z.coerce.number().int().positive().default(15_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (one object per line, for machines) or `pretty` (for a terminal; `npm run dev` sets it). */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  /**
   * `development` mints demo tokens at /dev/token and must bind to loopback; `production` needs
   * a real JWT_SECRET and ALLOWED_ORIGINS and never mints. Unset means production: minting is
   * something one asks for, never a default. See {@link authSettings}.
   */
  AUTH_MODE: z.enum(['development', 'production']).optional(),
  /**
   * Production's HS256 key, shared with your token issuer; development mode refuses to start
   * with it. Placeholders and guessable values are refused (see secretWeakness). Empty is unset.
   */
  JWT_SECRET: unsetWhenEmpty(strongSecret('JWT_SECRET', MIN_SECRET_LENGTH).optional()),
  /**
   * Development's HS256 key, shared with the development token issuer; a production gateway
   * refuses to start with it. Unset: the public {@link DEV_JWT_SECRET}, loopback only. Empty is unset.
   */
  DEV_JWT_SECRET: unsetWhenEmpty(strongSecret('DEV_JWT_SECRET', MIN_SECRET_LENGTH).optional()),
  /** Clock skew forgiven on `exp`, `nbf` and `iat`; a socket is also served this long past its `exp`. */
  JWT_LEEWAY_S: z.coerce.number().int().min(0).max(600).default(DEFAULT_LEEWAY_S),
  /** When set, tokens must carry this audience (`aud`, a string or one entry of an array). */
  JWT_AUDIENCE: z.string().min(1).optional(),
  /** When set, tokens must carry this issuer (`iss`). */
  JWT_ISSUER: z.string().min(1).optional(),
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
  /** Open sockets, and upgrades still being authenticated or opened, above which upgrades get 503. */
  MAX_CONNECTIONS: z.coerce.number().int().positive().default(10_000),
  /** Open sockets per client address (an IPv6 client per /64) above which upgrades get 429. */
  MAX_CONNECTIONS_PER_IP: z.coerce.number().int().positive().default(256),
  /**
   * Open sockets per principal above which upgrades get 429: one customer, or one member of
   * staff by the token's `sub` (staff tokens without `sub` share one count).
   */
  MAX_CONNECTIONS_PER_PRINCIPAL: z.coerce.number().int().positive().default(64),
  /** Open staff sockets in all, whatever their `sub`, above which upgrades get 429. */
  MAX_STAFF_CONNECTIONS: z.coerce.number().int().positive().default(1024),
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
  /** Entries one XREADGROUP of the gateway's stream takes at most (`COUNT`). */
  STREAM_READ_COUNT: z.coerce.number().int().positive().default(500),
  /** How long one XREADGROUP waits for new entries (`BLOCK`); it returns as soon as one arrives. */
  STREAM_READ_BLOCK_MS: z.coerce.number().int().positive().default(2000),
  /**
   * Page reads this gateway runs at once, snapshot queries and history replay pages alike;
   * also the size of its PostgreSQL pool.
   */
  SNAPSHOT_CONCURRENCY: z.coerce.number().int().positive().max(64).default(4),
  /** Subscriptions one socket may have loading (snapshot or replay) at once; more wait their turn. */
  SNAPSHOTS_PER_SOCKET: z.coerce.number().int().positive().default(2),
  /**
   * `on`: subscribers that come for the same snapshot page together share one PostgreSQL read.
   * `off` reads every page for every subscriber (to compare, or to rule sharing out).
   */
  SNAPSHOT_SHARING: z.enum(['on', 'off']).default('on'),
  /**
   * History entries a subscription resumed from a client's cursor may replay; a cursor
   * further behind the history head is answered with `reset` (`cursor_expired`) and a snapshot.
   */
  REPLAY_MAX_ENTRIES: z.coerce.number().int().positive().default(DEFAULT_REPLAY_MAX_ENTRIES),
  /** Serve `/metrics` on this port (on METRICS_HOST) instead of the main one. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** Bearer token `/metrics` requires wherever it is served. */
  METRICS_TOKEN: strongSecret('METRICS_TOKEN', 16).optional(),
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

export type AuthMode = 'development' | 'production';

export interface AuthSettings {
  mode: AuthMode;
  /** Why this mode is on, for the start-up log line. */
  reason: string;
  secret: string;
  allowedOrigins: string[];
  /** Address the server binds to. */
  host: string;
  leewayS: number;
  audience?: string;
  issuer?: string;
}

/** Claim checks apply the same way in every mode. */
function claimChecks(env: GatewayEnv): Pick<AuthSettings, 'leewayS' | 'audience' | 'issuer'> {
  return {
    leewayS: env.JWT_LEEWAY_S,
    ...(env.JWT_AUDIENCE === undefined ? {} : { audience: env.JWT_AUDIENCE }),
    ...(env.JWT_ISSUER === undefined ? {} : { issuer: env.JWT_ISSUER }),
  };
}

/** Addresses only this machine can reach; the one place a token-minting gateway may listen. */
export { isLoopback };

function resolveMode(env: GatewayEnv): { mode: AuthMode; reason: string } {
  if (env.AUTH_MODE !== undefined) return { mode: env.AUTH_MODE, reason: `AUTH_MODE=${env.AUTH_MODE}` };
  const signs = [
    ...(env.JWT_SECRET === undefined ? [] : ['JWT_SECRET is set']),
    ...(env.NODE_ENV === 'production' ? ['NODE_ENV=production'] : []),
  ];
  const because = signs.length === 0 ? 'production is the default' : signs.join(', ');
  return { mode: 'production', reason: `AUTH_MODE is not set; ${because}` };
}

/**
 * Tokens minted for development are signed with a development key and production tokens with
 * JWT_SECRET, and no gateway holds both: development refuses to start with JWT_SECRET set,
 * production with DEV_JWT_SECRET set or JWT_SECRET equal to the public development key. So a
 * demo token, whoever minted it, is never valid on a production gateway.
 *
 * Development is only ever asked for (AUTH_MODE=development) and binds to loopback, since
 * anyone can sign with the public key; with a DEV_JWT_SECRET of its own (the compose demo,
 * whose gateways share it with the development token issuer) it may bind elsewhere. Everything
 * else is production, which refuses to start without a real secret and an explicit origin list.
 */
export function authSettings(env: GatewayEnv): AuthSettings {
  const { mode, reason } = resolveMode(env);
  if (mode === 'production') {
    if (env.JWT_SECRET === undefined)
      throw new Error(
        `production mode (${reason}) requires JWT_SECRET (≥ ${MIN_SECRET_LENGTH} characters) and ALLOWED_ORIGINS; ` +
          'for a local demo gateway that mints its own tokens set AUTH_MODE=development (loopback only)',
      );
    if (env.JWT_SECRET === DEV_JWT_SECRET)
      throw new Error('production mode cannot use the development secret');
    if (env.DEV_JWT_SECRET !== undefined)
      throw new Error(
        `production mode (${reason}) never accepts development tokens: unset DEV_JWT_SECRET, the development token key`,
      );
    if (env.ALLOWED_ORIGINS === undefined || env.ALLOWED_ORIGINS.length === 0)
      throw new Error(
        `production mode (${reason}) requires ALLOWED_ORIGINS: the page origins allowed to open sockets, comma-separated, or * for any`,
      );
    return {
      mode,
      reason,
      secret: env.JWT_SECRET,
      allowedOrigins: env.ALLOWED_ORIGINS,
      host: env.HOST ?? '0.0.0.0',
      ...claimChecks(env),
    };
  }
  if (env.JWT_SECRET !== undefined)
    throw new Error(
      'AUTH_MODE=development signs and accepts development tokens only, so it refuses the production JWT_SECRET: ' +
        'unset it (DEV_JWT_SECRET sets a development key of its own)',
    );
  const host = env.HOST ?? '127.0.0.1';
  if (!isLoopback(host) && env.DEV_JWT_SECRET === undefined)
    throw new Error(
      `AUTH_MODE=development with the public development key mints tokens anyone can forge, so it binds to loopback only; HOST=${host} is not. ` +
        'Use AUTH_MODE=production with JWT_SECRET and ALLOWED_ORIGINS to listen elsewhere',
    );
  return {
    mode,
    reason,
    secret: env.DEV_JWT_SECRET ?? DEV_JWT_SECRET,
    allowedOrigins: env.ALLOWED_ORIGINS ?? DEV_ORIGINS,
    host,
    ...claimChecks(env),
  };
}

/** Validated once at start-up; a bad variable stops the process with a readable message. */
export function loadEnv(source: Record<string, string | undefined> = process.env): GatewayEnv {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) throw new Error(`invalid gateway environment: ${z.prettifyError(parsed.error)}`);
  const conflict = redisSelectionError(source);
  if (conflict !== undefined) throw new Error(`invalid gateway environment: ${conflict}`);
  return parsed.data;
}
