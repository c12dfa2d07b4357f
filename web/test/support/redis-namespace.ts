import { createClient } from 'redis';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes every key of a test namespace; they all share its hash tag. */
export async function dropRedisNamespace(ns: string): Promise<void> {
  const redis = createClient({ url: redisUrl });
  redis.on('error', () => {});
  await redis.connect();
  try {
    for await (const keys of redis.scanIterator({ MATCH: `{${ns}}:*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.del(keys);
    }
  } finally {
    await redis.close();
  }
}
