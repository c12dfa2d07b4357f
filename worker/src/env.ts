/**
 * The worker's configuration, parsed once at start-up. This is the only module that
 * reads `process.env`: a typo or a bad number fails fast with a readable message.
 */

import { isShardCount, MAX_SHARDS } from '@orders/contract/redis';
import { redisClusterSeeds, redisSelectionError } from '@orders/redis';
import { z } from 'zod';

const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** `REDIS_SHARDS`, shared in meaning with the gateways: a positive integer, default 1. */
const shardCount = z
  .string()
  .default('1')
  .refine((s) => /^\d+$/.test(s.trim()) && isShardCount(Number(s)), {
    message: `REDIS_SHARDS must be a positive integer (at most ${MAX_SHARDS})`,
  })
  .transform(Number);

export const envSchema = z.object({
  /** Comma-separated host:port list. */
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    ),
  KAFKA_CLIENT_ID: z.string().default('orders-worker'),
  KAFKA_GROUP: z.string().default('orders-worker'),
  ORDERS_TOPIC: z.string().default('orders.public.orders'),
  DLQ_TOPIC: z.string().default('orders.public.orders.dlq'),
  /** How long the group coordinator waits for a silent worker before rebalancing. */
  KAFKA_SESSION_TIMEOUT_MS: int(30_000),
  /** Partitions processed in parallel; safe because each partition has its own mark. */
  KAFKA_PARTITIONS_CONCURRENCY: int(6),
  /** Commit at most this often; 0 commits after every Lua call. */
  KAFKA_COMMIT_INTERVAL_MS: z.coerce.number().int().min(0).default(1_000),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Seed nodes of a Redis Cluster (`redis://h:p,…`); when set, the worker runs on the cluster. */
  REDIS_CLUSTER: redisClusterSeeds,
  REDIS_NS: z.string().default('orders'),
  /**
   * Shard groups: Kafka partition p is forwarded into group p mod S, each group under its own
   * hash tag `{<ns>:<g>}`. 1 (the default) is the single-tag layout.
   */
  REDIS_SHARDS: shardCount,
  /**
   * Replicas that must have every write before Kafka offsets are committed (`WAIT`); 0, the
   * default, commits after the primary acknowledged. Single server (REDIS_URL) only.
   */
  REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).default(0),
  /** How long one `WAIT` blocks for those replicas before the commit is put off. */
  REDIS_WAIT_TIMEOUT_MS: int(1_000),
  /** A gateway silent for longer than this gets nothing more and loses its stream. */
  GATEWAY_TTL_MS: int(10_000),
  HISTORY_MAXLEN: int(100_000),
  GATEWAY_MAXLEN: int(10_000),
  /** Records per Lua call: bounds the time Redis is blocked by one script. */
  FORWARD_CHUNK: int(1_000),
  /** Bytes a Kafka fetch waits for (up to KAFKA_FETCH_MAX_WAIT_MS) before the broker answers. */
  KAFKA_FETCH_MIN_BYTES: int(1),
  /** Longest a Kafka fetch waits for KAFKA_FETCH_MIN_BYTES. */
  KAFKA_FETCH_MAX_WAIT_MS: int(1_000),
  WORKER_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  WORKER_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (one object per line, for machines) or `pretty` (for a terminal; `npm run dev` sets it). */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
});

export type Env = z.infer<typeof envSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    throw new Error(`invalid worker environment:\n${z.prettifyError(result.error)}`);
  }
  const conflict = redisSelectionError(source);
  if (conflict !== undefined) throw new Error(`invalid worker environment: ${conflict}`);
  if (result.data.REDIS_WAIT_REPLICAS > 0 && result.data.REDIS_CLUSTER !== undefined)
    throw new Error(
      'invalid worker environment: REDIS_WAIT_REPLICAS works with one server (REDIS_URL); a cluster has a primary per slot range',
    );
  return result.data;
}

export function loadEnv(): Env {
  return parseEnv(process.env);
}
