/**
 * The one Redis client type the worker and its helpers accept, plus the EVALSHA-with-fallback
 * every Lua script here goes through (scripts are cached by Redis, so steady state sends only
 * the 40-byte digest; after a Redis restart the first call reloads the body).
 */
import { createHash } from 'node:crypto';

interface EvalOptions {
  keys: string[];
  arguments: string[];
}

/**
 * What these helpers need from a node-redis client. Structural on purpose: any
 * `createClient(...)` result fits, whatever its RESP version, modules or type mapping.
 */
export interface RedisClient {
  evalSha(sha: string, options: EvalOptions): Promise<unknown>;
  eval(script: string, options: EvalOptions): Promise<unknown>;
  readonly isReady: boolean;
}

/**
 * Lua that sets `now` to Redis' own clock in ms, for scripts that compare heartbeats: one
 * clock for every host, so skew between them cannot make a live gateway look dead.
 */
export const REDIS_NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

export interface LuaScript {
  body: string;
  sha: string;
}

export function luaScript(body: string): LuaScript {
  return { body, sha: createHash('sha1').update(body).digest('hex') };
}

export async function runScript(
  redis: RedisClient,
  script: LuaScript,
  keys: string[],
  args: string[],
): Promise<unknown> {
  try {
    return await redis.evalSha(script.sha, { keys, arguments: args });
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return await redis.eval(script.body, { keys, arguments: args });
  }
}
