/**
 * The Redis side of the contract: key layout and entry fields the worker writes and the
 * gateways read, the stream change itself, reading history, and the gateway registry.
 */
export { type HistoryPage, readHistoryPage } from './history-page.ts';
export * from './layout.ts';
export { type LuaScript, luaScript, REDIS_NOW, type RedisClient, runScript } from './lua.ts';
export {
  type Heartbeat,
  heartbeatGateway,
  liveGateways,
  reapGateways,
  unregisterGateway,
} from './registry.ts';
export * from './stream-entry.ts';
export { publishPartitionCount, readPartitionCount } from './topic-partitions.ts';
