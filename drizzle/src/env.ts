import { z } from 'zod';

export const envSchema = z.object({
  /** Owner connection: migrations, seed, simulator, test fixtures. */
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/orders'),
  /**
   * How long migrate and seed wait for PostgreSQL to accept connections before giving up. 0 (the
   * default) tries once: the native stack is up before they run; compose starts them together.
   */
  DATABASE_WAIT_MS: z.coerce.number().int().min(0).default(0),
  /** Read-only role used for snapshots; must never be able to write. */
  DATABASE_READER_URL: z.url().default('postgres://orders_reader:reader@127.0.0.1:5432/orders'),
  /**
   * The native stack's home (default: <repo>/.stack). Test replication slots are named after the
   * id stored there, so the stack's cleanup recognises them and never anyone else's.
   */
  STACK_HOME: z.string().min(1).optional(),
  /** Kafka Connect REST API (test pipelines register their own connector there). */
  CONNECT_URL: z.url().default('http://127.0.0.1:8083'),
  /** Comma-separated broker list. */
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((value) =>
      value
        .split(',')
        .map((broker) => broker.trim())
        .filter((broker) => broker.length > 0),
    )
    .pipe(z.array(z.string()).min(1, 'KAFKA_BROKERS must name at least one broker')),
});

export type Env = z.infer<typeof envSchema>;

function loadEnv(): Env {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    // Fail fast and name every bad variable, rather than a connection error much later.
    throw new Error(`Invalid environment for @orders/drizzle:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

export const env: Env = loadEnv();
