import { randomUUID } from 'node:crypto';
import { z } from 'zod';

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
});

export type GatewayEnv = z.infer<typeof envSchema>;

/** Validated once at start-up; a bad variable stops the process with a readable message. */
export function loadEnv(source: Record<string, string | undefined> = process.env): GatewayEnv {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) throw new Error(`invalid gateway environment: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
