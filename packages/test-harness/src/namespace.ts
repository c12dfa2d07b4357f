import { randomBytes } from 'node:crypto';

/**
 * A short id such as `t3f9a1c`: a valid unquoted identifier for databases, slots, topics and
 * Redis key prefixes alike (lowercase, starts with a letter).
 */
export function newNamespace(): string {
  return `t${randomBytes(3).toString('hex')}`;
}

/** The part of a Redis client that dropping a namespace needs. */
export interface NamespaceRedis {
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  del(keys: string[]): Promise<unknown>;
}

/** Deletes every key of a namespace (its keys share the `{ns}` hash tag). */
export async function dropRedisNamespace(redis: NamespaceRedis, ns: string): Promise<void> {
  for await (const keys of redis.scanIterator({ MATCH: `{${ns}}*`, COUNT: 1000 })) {
    if (keys.length > 0) await redis.del(keys);
  }
}
