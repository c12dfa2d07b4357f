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
