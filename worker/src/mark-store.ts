/** Reading and resetting a partition's offset mark outside the forward step. */
import { type RedisClient, type RedisKeys, runScript } from '@orders/contract/redis';
import { dropMarkScript, readMarkScript } from './scripts/index.ts';

/** The partition's high-water mark, or null when nothing was forwarded from it yet. */
export async function readMark(redis: RedisClient, keys: RedisKeys, field: string): Promise<string | null> {
  const mark = await runScript(redis, readMarkScript, [keys.highWater], [field]);
  return typeof mark === 'string' ? mark : null;
}

/** Deletes the mark only if it still equals `stale`; true when it was deleted. */
export async function dropStaleMark(
  redis: RedisClient,
  keys: RedisKeys,
  field: string,
  stale: string,
): Promise<boolean> {
  return Number(await runScript(redis, dropMarkScript, [keys.highWater], [field, stale])) === 1;
}
